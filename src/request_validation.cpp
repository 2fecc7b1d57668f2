#include "request_validation.hpp"

#include "http_status.hpp"

namespace cgihost {
namespace {

Response refuse(int code, std::string_view detail, bool close) {
    Response response = make_error_response(code, detail);
    response.close_connection = close;
    return response;
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
    if (transfer_encodings == 1 &&
        !equals_ignore_case(*request.header("Transfer-Encoding"), "chunked")) {
        // RFC 9112 §6.1: an unknown transfer coding is 501; only "chunked" is supported.
        return refuse(status::not_implemented, "Unsupported Transfer-Encoding.", true);
    }
    const std::string* first_length = nullptr;
    for (const auto& [name, value] : headers) {
        if (!equals_ignore_case(name, "Content-Length")) continue;
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
    if (request.path.empty() || request.path.front() != '/') {
        return refuse(status::bad_request, "The request target must be an absolute path.", false);
    }
    // RFC 9112 §3.2: an HTTP/1.1 request carries exactly one Host header.
    size_t hosts = count_headers(request.headers, "Host");
    bool http11 = request.version_major == 1 && request.version_minor >= 1;
    if (hosts > 1 || (http11 && hosts == 0)) {
        return refuse(status::bad_request, "Exactly one Host header is required.", true);
    }
    return check_framing(request);
}

}  // namespace cgihost
