// hello_get: a first and a last name from a form, greeted back.
//
// Shows that one program answers both ways a browser sends a form: with GET the fields
// arrive in QUERY_STRING, with POST (application/x-www-form-urlencoded) they arrive on stdin,
// CONTENT_LENGTH bytes of them. cgicc::Cgicc reads whichever applies, so the code below does
// not care which form was used. It also shows the checks every form handler needs: the method
// (405), missing fields (400), oversized fields (413), and escaping what it echoes.
#include <iostream>
#include <string>

#include <cgicc/Cgicc.h>
#include <cgicc/HTTPContentHeader.h>

#include "html.hpp"
#include "request.hpp"

int main() {
    try {
        samples::require_method({"GET", "HEAD", "POST"});
        const cgicc::Cgicc cgi = samples::read_form();
        const std::string first_name = samples::required_field(cgi, "first_name");
        const std::string last_name = samples::required_field(cgi, "last_name");
        const std::string method = cgi.getEnvironment().getRequestMethod();

        std::cout << cgicc::HTTPContentHeader(samples::kHtmlContentType);
        samples::page_start("Hello");
        std::cout << "<p class=\"greeting\">Hello, " << samples::escape_html(first_name) << ' '
                  << samples::escape_html(last_name) << "!</p>\n"
                  << "<p>Your browser sent the form with <code>" << samples::escape_html(method)
                  << "</code>. <a href=\"/hello_get.html\">Try the other form</a>.</p>\n";
        samples::page_end();
    } catch (const samples::RequestError& error) {
        samples::send_error_page(error);
    }
}
