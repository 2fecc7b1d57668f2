#include "http/request_validation.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "http/http_status.hpp"

namespace cgihost {
namespace {

Response refuse(int code, std::string_view detail, bool close) {
    Response response = make_error_response(code, detail);
    response.close_connection = close;
    return response;
}

// RFC 9110 §5.1, §5.5: a field name is a token ("X A" and "X-A " are not, and a proxy may read
// them differently), and a field value holds no control byte but HTAB. The RequestFramer
// refused such lines already, NUL included; this keeps the rule for requests made otherwise.
bool is_valid_field(const std::string& name, const std::string& value) {
    return is_http_token(name) && is_valid_field_value(value);
}

// RFC 9110 §7.2, RFC 3986 §3.2.2: Host is uri-host [":" port]; a server MUST answer an invalid
// one with 400 (RFC 9112 §3.2). Reg-name, IPv4 and bracketed IPv6 characters only: no '/',
// '@', whitespace or anything else that could make it mean another authority.
bool is_valid_host(std::string_view host) {
    return std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               std::string_view("-._~!$&'()*+,;=%:[]").find(c) != std::string_view::npos;
    });
}

}  // namespace

uint64_t request_head_size(const Request& request) {
    // "METHOD SP target SP HTTP/x.y CRLF", then "name: value CRLF" per header.
    uint64_t size = request.method.size() + 1 + request.target.size() + 1 + 8 + 2;
    for (const auto& [name, value] : request.headers)
        size += name.size() + 2 + value.size() + 2;
    return size;
}

std::optional<Response> validate_request(const Request& request, const RequestLimits& limits) {
    // RFC 9110 §15.6.6: we speak HTTP/1.x only. evhttp parses any "HTTP/d.d", so HTTP/0.1 or
    // HTTP/2.0 arrive here; answering them as if they were 1.x gave malformed replies.
    if (request.version_major != 1) {
        return refuse(status::http_version_not_supported, "Only HTTP/1.x is supported.", true);
    }
    if (request.target.size() > limits.max_uri_size) {
        return refuse(status::uri_too_long, "The request target is too long.", true);
    }
    if (request_head_size(request) > limits.max_header_size) {
        return refuse(status::header_fields_too_large, "The request headers are too large.", true);
    }
    if (request.path.empty() || request.path.front() != '/' ||
        !is_valid_request_target(request.target)) {
        return refuse(status::bad_request, "The request target must be an absolute path.", false);
    }
    for (const auto& [name, value] : request.headers) {
        if (!is_valid_field(name, value)) {
            return refuse(status::bad_request, "A header line is malformed.", true);
        }
    }
    // RFC 9112 §3.2: an HTTP/1.1 request carries exactly one Host header, and a valid one.
    size_t hosts = count_headers(request.headers, "Host");
    bool http11 = request.version_major == 1 && request.version_minor >= 1;
    if (hosts > 1 || (http11 && hosts == 0)) {
        return refuse(status::bad_request, "Exactly one Host header is required.", true);
    }
    if (hosts == 1 && !is_valid_host(*request.header("Host"))) {
        return refuse(status::bad_request, "The Host header is invalid.", true);
    }
    // Content-Length and Transfer-Encoding were checked, and taken off, by the RequestFramer.
    return std::nullopt;
}

}  // namespace cgihost
