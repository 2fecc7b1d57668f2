// env: every variable in the program's environment, sorted, in an HTML table.
//
// Shows where a CGI program's input comes from: the server describes the request in
// environment variables (RFC 3875 §4.1: REQUEST_METHOD, QUERY_STRING, SERVER_NAME, ...),
// passes each request header as HTTP_<NAME> (§4.1.18), and adds a few of its own (PATH).
// Names and values come from the client, so both are escaped before they reach the page.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <cgicc/HTTPContentHeader.h>

#include "html.hpp"
#include "request.hpp"

namespace {

using Variable = std::pair<std::string, std::string>;

// environ holds "NAME=value" strings; the name ends at the first '='.
std::vector<Variable> sorted_environment() {
    std::vector<Variable> variables;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        std::string text(*entry);
        auto equals = text.find('=');
        if (equals == std::string::npos) continue;
        variables.emplace_back(text.substr(0, equals), text.substr(equals + 1));
    }
    std::sort(variables.begin(), variables.end());
    return variables;
}

void print_table(const std::vector<Variable>& variables) {
    std::cout << "<table>\n<thead><tr><th>Name</th><th>Value</th></tr></thead>\n<tbody>\n";
    for (const auto& [name, value] : variables) {
        std::cout << "<tr><td><code>" << samples::escape_html(name) << "</code></td><td><code>"
                  << samples::escape_html(value) << "</code></td></tr>\n";
    }
    std::cout << "</tbody>\n</table>\n";
}

}  // namespace

int main() {
    try {
        samples::require_method({"GET", "HEAD"});
    } catch (const samples::RequestError& error) {
        samples::send_error_page(error);
        return 0;
    }
    const std::vector<Variable> variables = sorted_environment();
    std::cout << cgicc::HTTPContentHeader(samples::kHtmlContentType);
    samples::page_start("The CGI environment");
    std::cout << "<p>cgihost gave this program " << variables.size()
              << " environment variables. Request headers arrive as <code>HTTP_*</code>; try "
                 "<a href=\"?colour=blue&amp;size=2\">adding a query string</a>.</p>\n";
    print_table(variables);
    samples::page_end();
}
