// Checks a parsed request against the configured limits and the rules for its target and
// fields before any handler sees it. The RequestFramer has already approved its framing and
// evhttp parsed the head; this decides what of the result we still refuse.
#pragma once

#include <cstdint>
#include <optional>

#include "http/http_message.hpp"

namespace cgihost {

struct RequestLimits {
    uint64_t max_uri_size = uint64_t{8} * 1024;
    uint64_t max_header_size = uint64_t{16} * 1024;
};

// Returns the error response to send, or nullopt when the request may proceed. Errors that
// leave the connection's framing in doubt also set close_connection.
std::optional<Response> validate_request(const Request& request, const RequestLimits& limits);

// Bytes of the request line plus header lines as they were on the wire (with CRLFs).
uint64_t request_head_size(const Request& request);

}  // namespace cgihost
