// textarea: multi-line text sent back exactly as it was typed.
//
// Shows three things about a <textarea>: browsers send its line breaks as CR LF (HTML's form
// submission rules), so the program turns them into plain newlines; HTML collapses newlines
// in ordinary text, so the text is shown inside <pre>, which keeps them; and the text is the
// user's, so it is escaped before it becomes part of the page. Long text belongs in a POST
// body (urlencoded or multipart/form-data: cgicc reads both); GET is answered too, as the
// tutorial forms use either, but puts the text into the URL.
#include <algorithm>
#include <iostream>
#include <string>

#include <cgicc/Cgicc.h>
#include <cgicc/HTTPContentHeader.h>

#include "html.hpp"
#include "request.hpp"

namespace {

// "a\r\nb\rc" -> "a\nb\nc": one line break, whichever convention the client used.
std::string normalize_line_breaks(const std::string& text) {
    std::string normalized;
    normalized.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\r') {
            normalized += text[i];
        } else if (i + 1 == text.size() || text[i + 1] != '\n') {
            normalized += '\n';
        }
    }
    return normalized;
}

}  // namespace

int main() {
    try {
        samples::require_method({"GET", "HEAD", "POST"});
        const cgicc::Cgicc cgi = samples::read_form();
        const std::string text = normalize_line_breaks(samples::required_field(cgi, "message"));
        const auto lines = std::count(text.begin(), text.end(), '\n') + (text.back() != '\n');

        std::cout << cgicc::HTTPContentHeader(samples::kHtmlContentType);
        samples::page_start("Your text");
        std::cout << "<p>You wrote " << lines << (lines == 1 ? " line" : " lines") << ", "
                  << text.size()
                  << " bytes:</p>\n"
                  // HTML drops a newline right after <pre>; this one keeps a leading blank
                  // line of the text from being the one dropped.
                  << "<pre class=\"echo\">\n"
                  << samples::escape_html(text) << "</pre>\n"
                  << "<p><a href=\"/textarea.html\">Write something else</a></p>\n";
        samples::page_end();
    } catch (const samples::RequestError& error) {
        samples::send_error_page(error);
    }
}
