// dropdown: a single choice from a <select> and several from a <select multiple>.
//
// Shows how the two kinds of list reach a program: a plain <select> always sends exactly one
// value; a <select multiple> sends its name once per selected option (days=mon&days=wed) and
// not at all when nothing is selected. cgicc::Cgicc::getElement with a vector collects every
// repeat of a name; both kinds are checked against the options the form offered.
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <cgicc/Cgicc.h>
#include <cgicc/HTTPContentHeader.h>

#include "html.hpp"
#include "request.hpp"

namespace {

using Options = std::vector<std::pair<std::string, std::string>>;  // value, label

const Options kSubjects = {{"maths", "Maths"}, {"physics", "Physics"}, {"chemistry", "Chemistry"}};
const Options kDays = {{"mon", "Monday"},
                       {"tue", "Tuesday"},
                       {"wed", "Wednesday"},
                       {"thu", "Thursday"},
                       {"fri", "Friday"}};

std::vector<std::string> values_of(const Options& options) {
    std::vector<std::string> values;
    for (const auto& option : options) {
        values.push_back(option.first);
    }
    return values;
}

// The label of a value already checked with samples::require_choice.
std::string label_of(const Options& options, const std::string& value) {
    for (const auto& [option_value, label] : options) {
        if (option_value == value) return label;
    }
    return value;
}

}  // namespace

int main() {
    try {
        samples::require_method({"GET", "HEAD", "POST"});
        const cgicc::Cgicc cgi = samples::read_form();
        const std::string subject = samples::required_field(cgi, "subject");
        samples::require_choice("subject", subject, values_of(kSubjects));
        const std::vector<std::string> days = samples::field_values(cgi, "days");
        for (const std::string& day : days) {
            samples::require_choice("days", day, values_of(kDays));
        }

        std::cout << cgicc::HTTPContentHeader(samples::kHtmlContentType);
        samples::page_start("Your timetable");
        std::cout << "<p>Subject: <strong class=\"chosen\">" << label_of(kSubjects, subject)
                  << "</strong></p>\n";
        if (days.empty()) {
            std::cout << "<p>You chose no days.</p>\n";
        } else {
            std::cout << "<p>Days:</p>\n<ul class=\"chosen\">\n";
            for (const std::string& day : days) {
                std::cout << "<li>" << label_of(kDays, day) << "</li>\n";
            }
            std::cout << "</ul>\n";
        }
        std::cout << "<p><a href=\"/dropdown.html\">Choose again</a></p>\n";
        samples::page_end();
    } catch (const samples::RequestError& error) {
        samples::send_error_page(error);
    }
}
