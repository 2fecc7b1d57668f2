// Status codes by name, their reason phrases, and the small HTML error pages.
#pragma once

#include <string>
#include <string_view>

#include "http/http_message.hpp"

namespace cgihost {

namespace status {
inline constexpr int ok = 200;
inline constexpr int no_content = 204;
inline constexpr int partial_content = 206;
inline constexpr int moved_permanently = 301;
inline constexpr int found = 302;
inline constexpr int not_modified = 304;
inline constexpr int permanent_redirect = 308;
inline constexpr int bad_request = 400;
inline constexpr int unauthorized = 401;
inline constexpr int forbidden = 403;
inline constexpr int not_found = 404;
inline constexpr int method_not_allowed = 405;
inline constexpr int request_timeout = 408;
inline constexpr int precondition_failed = 412;
inline constexpr int payload_too_large = 413;
inline constexpr int uri_too_long = 414;
inline constexpr int range_not_satisfiable = 416;
inline constexpr int expectation_failed = 417;
inline constexpr int too_many_requests = 429;
inline constexpr int header_fields_too_large = 431;
inline constexpr int internal_server_error = 500;
inline constexpr int not_implemented = 501;
inline constexpr int bad_gateway = 502;
inline constexpr int service_unavailable = 503;
inline constexpr int gateway_timeout = 504;
inline constexpr int http_version_not_supported = 505;
inline constexpr int insufficient_storage = 507;
}  // namespace status

// The RFC 9110 §15 reason phrase, or "Unknown" for codes it does not name.
std::string_view reason_phrase(int status);

// A complete error response with a small HTML body naming the status. `detail` is shown
// escaped under the heading; keep it free of internal paths.
Response make_error_response(int status, std::string_view detail = {});

// 503 with `Retry-After: 1` (RFC 9110 §15.6.4): the server is short of something for now
// (script slots, descriptors), not broken; the client may try again in a moment.
Response make_retry_later_response(std::string_view detail);

}  // namespace cgihost
