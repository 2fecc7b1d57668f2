// redirect: the two kinds of redirect a CGI program can ask for.
//
// ?to=client is a client redirect (RFC 3875 §6.2.3, §6.2.4): "Status: 302" and a Location
// holding an absolute URL. The server passes both to the browser, which asks for the new URL
// itself; its address bar changes. The small page after the headers is for clients that do not
// follow redirects.
//
// ?to=local is a local redirect (RFC 3875 §6.2.2): a Location holding only a path, and nothing
// else, not even a body. The server does not tell the browser; it answers the same request as
// if the browser had asked for that path, so hello's page arrives under this program's URL.
//
// Without ?to the program explains both with a link to each.
#include <iostream>
#include <string>

#include <cgicc/Cgicc.h>
#include <cgicc/HTTPContentHeader.h>
#include <cgicc/HTTPRedirectHeader.h>

#include "html.hpp"
#include "request.hpp"

namespace {

constexpr const char* kTarget = "/cgi-bin/hello";

// cgicc's HTTPRedirectHeader ends the header block after Location, which leaves no room for
// the Content-Type that a redirect with a body needs (§6.2.4), so these lines are ours.
void redirect_client(const cgicc::CgiEnvironment& environment) {
    const std::string location = samples::absolute_url(environment, kTarget);
    std::cout << "Status: 302 Found\n"
              << "Location: " << location << '\n'
              << "Content-Type: " << samples::kHtmlContentType << "\n\n";
    samples::page_start("Moved");
    std::cout << "<p>This answer moved to <a href=\"" << samples::escape_html(location) << "\">"
              << samples::escape_html(location) << "</a>.</p>\n";
    samples::page_end();
}

// Exactly "Location: /path" and the empty line: a local redirect may carry nothing else.
void redirect_locally() {
    std::cout << cgicc::HTTPRedirectHeader(kTarget);
}

void explain(const std::string& script_name) {
    const std::string self = samples::escape_html(script_name);
    std::cout << cgicc::HTTPContentHeader(samples::kHtmlContentType);
    samples::page_start("Redirects");
    std::cout << "<p>A CGI program can send the browser somewhere else in two ways. Both links "
                 "below end at the <a href=\"/cgi-bin/hello\">hello</a> sample.</p>\n"
                 "<ul>\n"
                 "<li><a href=\""
              << self
              << "?to=client\">A client redirect</a>: the program answers "
                 "<code>Status: 302</code> with an absolute <code>Location</code>, and the "
                 "browser asks for the new address itself. Watch the address bar change.</li>\n"
                 "<li><a href=\""
              << self
              << "?to=local\">A local redirect</a>: the program answers only "
                 "<code>Location: /cgi-bin/hello</code>, and cgihost serves that path in its "
                 "place. The browser never learns of it; the address bar keeps this "
                 "program's URL.</li>\n"
                 "</ul>\n";
    samples::page_end();
}

}  // namespace

int main() {
    try {
        samples::require_method({"GET", "HEAD"});
        const cgicc::Cgicc cgi = samples::read_form();
        const cgicc::CgiEnvironment& environment = cgi.getEnvironment();
        auto to = cgi.getElement("to");
        if (to == cgi.getElements().end()) {
            explain(environment.getScriptName());
            return 0;
        }
        const std::string kind = samples::required_field(cgi, "to");
        samples::require_choice("to", kind, {"client", "local"});
        if (kind == "client") {
            redirect_client(environment);
        } else {
            redirect_locally();
        }
    } catch (const samples::RequestError& error) {
        samples::send_error_page(error);
    }
}
