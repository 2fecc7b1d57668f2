// The one place cgihost writes a response itself instead of through evhttp: a small static
// file answered in full from the FileCache, right where the intake finds the request's head
// (http/request_intake.hpp), with no evhttp request made. evhttp's reply path costs a request
// object, a header list, printf-formatted fields and a second pass through the filter; this
// costs one string. The bytes are those evhttp would send, field for field (the integration
// tests compare the two), so a client cannot tell which path answered.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/http_message.hpp"

namespace cgihost {

// The status line, the response's fields, Server, Date and Content-Length, and the body
// (nothing after the head for HEAD). For HTTP/1.1 keep-alive answers only: no Connection field
// is needed. `response` must carry its body in `body` or `shared`, not a file.
std::string render_quick_response(const Response& response, bool head_request,
                                  std::string_view date);

// Today's IMF-fixdate for the Date field, formatted once per second per thread.
const std::string& current_http_date();

}  // namespace cgihost
