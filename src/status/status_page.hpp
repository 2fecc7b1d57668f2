// The page at --status-url: a fixed document (no server data in it, so nothing to escape)
// whose inline script polls `?json` and fills the numbers in with textContent, and draws
// requests/s and the scripts' mean duration over the last minutes as inline SVG. No
// external resource; the Content-Security-Policy allows exactly its own script and style,
// by their SHA-256 hashes.
#pragma once

#include <string>

namespace cgihost {

const std::string& status_page_html();
// The Content-Security-Policy header value for that page.
const std::string& status_page_csp();

}  // namespace cgihost
