#include "request_validation.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "http_status.hpp"

namespace cgihost {
namespace {

Response refuse(int code, std::string_view detail, bool close) {
    Response response = make_error_response(code, detail);
    response.close_connection = close;
    return response;
}

// RFC 5234 CTL: the bytes 0x00-0x1F and 0x7F.
bool is_control(char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
}

// RFC 9112 §3.2: the request-target has no whitespace or control bytes. evhttp splits the
// request line at spaces only, so a bare CR, a TAB or a raw control byte arrives here.
bool is_valid_target(std::string_view target) {
    return std::none_of(target.begin(), target.end(),
                        [](char c) { return c == ' ' || is_control(c); });
}

// RFC 9110 §5.1, §5.5: a field name is a token ("X A" and "X-A " are not, and a proxy may read
// them differently), and a field value holds no control byte but HTAB. evhttp refuses CR and LF
// itself; a NUL it cuts the value at (TODO(libevent): invisible here, so not refused).
bool is_valid_field(const std::string& name, const std::string& value) {
    return is_http_token(name) && std::none_of(value.begin(), value.end(),
                                               [](char c) { return is_control(c) && c != '\t'; });
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

// RFC 9110 §8.6: Content-Length = 1*DIGIT. evhttp's strtoll would take "+5" or " 5".
bool is_valid_content_length(std::string_view value) {
    return !value.empty() &&
           std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The transfer codings of a Transfer-Encoding value, lower-cased, in order.
std::vector<std::string> transfer_codings(std::string_view value) {
    std::vector<std::string> codings;
    while (!value.empty()) {
        std::string_view item = value.substr(0, value.find(','));
        value.remove_prefix(std::min(value.size(), item.size() + 1));
        size_t first = item.find_first_not_of(" \t");
        if (first == std::string_view::npos) continue;
        item = item.substr(first, item.find_last_not_of(" \t") - first + 1);
        std::string coding(item);
        for (char& c : coding)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        codings.push_back(std::move(coding));
    }
    return codings;
}

// RFC 9112 §6.3: chunked must come last and only once, or the length cannot be known (400);
// any other coding is one we do not implement (501, RFC 9112 §6.1).
std::optional<Response> check_transfer_codings(std::string_view value) {
    std::vector<std::string> codings = transfer_codings(value);
    auto chunked = std::find(codings.begin(), codings.end(), "chunked");
    if (chunked != codings.end() && chunked + 1 != codings.end()) {
        return refuse(status::bad_request, "Chunked must be the last transfer coding.", true);
    }
    if (codings.size() != 1 || chunked == codings.end()) {
        return refuse(status::not_implemented, "Unsupported Transfer-Encoding.", true);
    }
    return std::nullopt;
}

// RFC 9112 §6.3: a message with both Transfer-Encoding and Content-Length, or with
// disagreeing Content-Lengths, is a smuggling attempt; refuse it and close the connection.
std::optional<Response> check_framing(const Request& request) {
    const HeaderList& headers = request.headers;
    size_t transfer_encodings = count_headers(headers, "Transfer-Encoding");
    if (transfer_encodings > 0 && count_headers(headers, "Content-Length") > 0) {
        return refuse(status::bad_request, "Both Transfer-Encoding and Content-Length.", true);
    }
    if (transfer_encodings > 1) {
        return refuse(status::bad_request, "Repeated Transfer-Encoding.", true);
    }
    // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means its framing is faulty.
    if (transfer_encodings == 1 && request.version_major == 1 && request.version_minor == 0) {
        return refuse(status::bad_request, "Transfer-Encoding in an HTTP/1.0 request.", true);
    }
    if (transfer_encodings == 1) {
        if (auto refused = check_transfer_codings(*request.header("Transfer-Encoding"))) {
            return refused;
        }
    }
    const std::string* first_length = nullptr;
    for (const auto& [name, value] : headers) {
        if (!equals_ignore_case(name, "Content-Length")) continue;
        if (!is_valid_content_length(value)) {
            return refuse(status::bad_request, "Content-Length is not a number.", true);
        }
        if (first_length != nullptr && *first_length != value) {
            return refuse(status::bad_request, "Conflicting Content-Length headers.", true);
        }
        first_length = &value;
    }
    return std::nullopt;
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
    if (request.path.empty() || request.path.front() != '/' || !is_valid_target(request.target)) {
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
    return check_framing(request);
}

}  // namespace cgihost
