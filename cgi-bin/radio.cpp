// radio: the one subject picked from a group of radio buttons.
//
// Shows how a radio group reaches a program: every button shares one name, and only the
// chosen button's value is sent. Nothing chosen means the field is absent (400 here), and a
// value the form never offered did not come from the form (400 as well), so the program
// checks it against its own list before using it.
#include <iostream>
#include <string>
#include <vector>

#include <cgicc/Cgicc.h>
#include <cgicc/HTTPContentHeader.h>

#include "html.hpp"
#include "request.hpp"

int main() {
    try {
        samples::require_method({"GET", "HEAD", "POST"});
        const cgicc::Cgicc cgi = samples::read_form();
        const std::string subject = samples::required_field(cgi, "subject");
        samples::require_choice("subject", subject, {"maths", "physics", "chemistry"});

        std::cout << cgicc::HTTPContentHeader(samples::kHtmlContentType);
        samples::page_start("Your subject");
        // Checked against the list above, so it is safe to print; escaping is still the habit.
        std::cout << "<p class=\"chosen\">You chose <strong>" << samples::escape_html(subject)
                  << "</strong>.</p>\n"
                     "<p><a href=\"/radio.html\">Choose again</a></p>\n";
        samples::page_end();
    } catch (const samples::RequestError& error) {
        samples::send_error_page(error);
    }
}
