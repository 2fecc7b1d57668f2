// checkbox: which of three checkboxes (maths, physics, chemistry) were ticked.
//
// Shows how checkboxes reach a program: a ticked box sends "name=on", an unticked one sends
// nothing at all, so "absent" means "off" and there is nothing to be missing.
// cgicc::Cgicc::queryCheckbox answers exactly that question for one name.
#include <iostream>
#include <string>
#include <vector>

#include <cgicc/Cgicc.h>
#include <cgicc/HTTPContentHeader.h>

#include "html.hpp"
#include "request.hpp"

namespace {

struct Subject {
    const char* field;  // the checkbox's name in www/checkbox.html
    const char* label;
};

constexpr Subject kSubjects[] = {
    {"maths", "Maths"},
    {"physics", "Physics"},
    {"chemistry", "Chemistry"},
};

}  // namespace

int main() {
    try {
        samples::require_method({"GET", "HEAD", "POST"});
        const cgicc::Cgicc cgi = samples::read_form();
        std::vector<std::string> ticked;
        for (const Subject& subject : kSubjects) {
            if (cgi.queryCheckbox(subject.field)) ticked.push_back(subject.label);
        }

        std::cout << cgicc::HTTPContentHeader(samples::kHtmlContentType);
        samples::page_start("Your subjects");
        if (ticked.empty()) {
            std::cout << "<p>You ticked no subjects.</p>\n";
        } else {
            std::cout << "<p>You ticked " << ticked.size() << " of 3:</p>\n<ul class=\"chosen\">\n";
            for (const std::string& label : ticked) {
                std::cout << "<li>" << label << "</li>\n";
            }
            std::cout << "</ul>\n";
        }
        std::cout << "<p><a href=\"/checkbox.html\">Choose again</a></p>\n";
        samples::page_end();
    } catch (const samples::RequestError& error) {
        samples::send_error_page(error);
    }
}
