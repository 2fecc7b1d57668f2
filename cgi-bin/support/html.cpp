#include "html.hpp"

namespace samples {

std::string escape_html(std::string_view text) {
    std::string escaped;
    escaped.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                escaped += "&amp;";
                break;
            case '<':
                escaped += "&lt;";
                break;
            case '>':
                escaped += "&gt;";
                break;
            case '"':
                escaped += "&quot;";
                break;
            case '\'':
                escaped += "&#39;";
                break;
            default:
                escaped += c;
        }
    }
    return escaped;
}

void page_start(std::string_view title, std::ostream& out) {
    const std::string safe_title = escape_html(title);
    out << "<!DOCTYPE html>\n"
           "<html lang=\"en\">\n"
           "<head>\n"
           "<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<title>"
        << safe_title
        << " · cgihost</title>\n"
           "<link rel=\"stylesheet\" href=\"/style.css\">\n"
           "</head>\n"
           "<body>\n"
           "<header class=\"site\"><a href=\"/\"><img src=\"/logo.svg\" alt=\"\" width=\"32\" "
           "height=\"32\"> cgihost</a></header>\n"
           "<main>\n"
           "<h1>"
        << safe_title << "</h1>\n";
}

void page_end(std::ostream& out) {
    out << "</main>\n"
           "<footer class=\"site\"><a href=\"/\">← All samples</a></footer>\n"
           "</body>\n"
           "</html>\n";
}

void send_error_page(int status, std::string_view title, std::string_view message,
                     const HeaderFields& extra_headers, std::ostream& out) {
    // Written by hand: cgicc's HTTPStatusHeader ends the header block right after Status,
    // leaving no room for Allow or Content-Type.
    out << "Status: " << status << ' ' << title << '\n';
    for (const auto& [name, value] : extra_headers) {
        out << name << ": " << value << '\n';
    }
    out << "Content-Type: " << kHtmlContentType << "\n\n";
    page_start(std::to_string(status) + ' ' + std::string(title), out);
    out << "<p class=\"error\">" << escape_html(message) << "</p>\n";
    page_end(out);
}

}  // namespace samples
