#include "http/quick_response.hpp"

#include <time.h>

#include "http/http_conditional.hpp"
#include "http/http_status.hpp"
#include "server/version.hpp"

namespace cgihost {
namespace {

bool status_has_body(int code) {
    return code >= 200 && code != status::no_content && code != status::not_modified;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

std::string render_quick_response(const Response& response, bool head_request,
                                  std::string_view date) {
    std::string_view body = response.body;
    if (response.shared) {
        body = std::string_view(*response.shared->bytes)
                   .substr(response.shared->offset, response.shared->length);
    }
    const bool with_body = status_has_body(response.status);
    std::string out;
    out.reserve(256 + (with_body && !head_request ? body.size() : 0));
    out.append("HTTP/1.1 ")
        .append(std::to_string(response.status))
        .append(" ")
        .append(reason_phrase(response.status))
        .append("\r\n");
    for (const auto& [name, value] : response.headers)
        append_field(out, name, value);
    append_field(out, "Server", kServerSoftware);
    append_field(out, "Date", date);
    if (with_body) append_field(out, "Content-Length", std::to_string(body.size()));
    out.append("\r\n");
    if (with_body && !head_request) out.append(body);
    return out;
}

const std::string& current_http_date() {
    thread_local time_t formatted_second = -1;
    thread_local std::string date;
    const time_t now = time(nullptr);
    if (now != formatted_second) {
        date = format_http_date(now);
        formatted_second = now;
    }
    return date;
}

}  // namespace cgihost
