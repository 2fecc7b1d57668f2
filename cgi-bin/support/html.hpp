// HTML output shared by the sample CGI programs: escaping, one page frame for every sample,
// and small error pages. Everything a sample echoes back from the request goes through
// escape_html first, so a name like "<script>" is shown, never run.
#pragma once

#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace samples {

// cgicc's HTTPHTMLHeader says only "text/html"; naming the charset keeps browsers from guessing.
inline constexpr const char* kHtmlContentType = "text/html; charset=utf-8";

// Replaces the five characters that are special in HTML text and in quoted attribute values.
std::string escape_html(std::string_view text);

// The start of a page: doctype, <head> with the shared /style.css, the site header linking
// back to /, and an <h1> with `title` (escaped here). Write the HTTP header before it.
void page_start(std::string_view title, std::ostream& out = std::cout);
// Closes what page_start opened.
void page_end(std::ostream& out = std::cout);

using HeaderFields = std::vector<std::pair<std::string, std::string>>;

// A complete response for a request the program refuses: "Status: <status> <title>", any
// `extra_headers` (e.g. Allow for a 405), Content-Type, and a short page showing `message`
// (escaped here). RFC 3875 §6.3.3: the Status header carries the code to the server.
void send_error_page(int status, std::string_view title, std::string_view message,
                     const HeaderFields& extra_headers = {}, std::ostream& out = std::cout);

}  // namespace samples
