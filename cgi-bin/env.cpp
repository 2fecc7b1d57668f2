// env: every variable in the program's environment, sorted, in an HTML table.
//
// Shows where a CGI program's input comes from: the server describes the request in
// environment variables (RFC 3875 §4.1: REQUEST_METHOD, QUERY_STRING, SERVER_NAME, ...),
// passes each request header as HTTP_<NAME> (§4.1.18), and adds a few of its own (PATH).
// Names and values come from the client, so both are escaped before they reach the page.
//
// Some values are not shown, only their size (issue 12): a page's scripts can read the page,
// so echoing HTTP_COOKIE would hand them the HttpOnly session cookie that the browser keeps
// from them on purpose, and HTTP_AUTHORIZATION carries a password. Cookie names are kept, their
// values hidden. Paths of the server's own files (DOCUMENT_ROOT, SCRIPT_FILENAME,
// PATH_TRANSLATED, CGIHOST_DATA_DIR, PATH...) tell a visitor where things live on the server,
// which helps an attacker and no visitor, so every value that is a filesystem path is hidden
// as well. The page says which values were hidden and why.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <iostream>
#include <string>
#include <string_view>
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

// Request headers that carry credentials (RFC 9110 §11.6.2, §11.7.2) and names that say they
// hold one: their values are never shown.
bool holds_a_secret(std::string_view name) {
    if (name == "HTTP_AUTHORIZATION" || name == "HTTP_PROXY_AUTHORIZATION") return true;
    constexpr std::array<std::string_view, 5> kSecretWords = {"SECRET", "TOKEN", "PASSWORD",
                                                              "PASSWD", "API_KEY"};
    return std::any_of(kSecretWords.begin(), kSecretWords.end(), [&](std::string_view word) {
        return name.find(word) != std::string_view::npos;
    });
}

// Variables taken from the request's URL, whatever they hold (RFC 3875 §4.1.5, §4.1.7,
// §4.1.13; REQUEST_URI is the request target): a '/' in them is the client's, not a place on
// the server's disk.
bool is_from_the_url(std::string_view name) {
    return name == "SCRIPT_NAME" || name == "PATH_INFO" || name == "QUERY_STRING" ||
           name == "REQUEST_URI";
}

// A value the server set that names a place in its filesystem: DOCUMENT_ROOT, SCRIPT_FILENAME,
// PATH_TRANSLATED, CGIHOST_DATA_DIR, PATH. Request headers (HTTP_*) are the client's own.
bool is_server_path(std::string_view name, std::string_view value) {
    return !name.starts_with("HTTP_") && !is_from_the_url(name) && value.starts_with('/');
}

std::string hidden(std::size_t bytes) {
    return "(hidden, " + std::to_string(bytes) + (bytes == 1 ? " byte)" : " bytes)");
}

// "a=1; b=22" → "a=(hidden, 1 byte); b=(hidden, 2 bytes)": the names the browser sent, not
// their values (RFC 6265 §4.2.1: pairs separated by "; ").
std::string mask_cookies(std::string_view header) {
    std::string masked;
    while (!header.empty()) {
        std::string_view pair = header.substr(0, header.find(';'));
        header.remove_prefix(std::min(header.size(), pair.size() + 1));
        pair.remove_prefix(std::min(pair.size(), pair.find_first_not_of(' ')));
        if (pair.empty()) continue;
        std::size_t equals = pair.find('=');
        std::size_t value_bytes = equals == std::string_view::npos ? 0 : pair.size() - equals - 1;
        masked += (masked.empty() ? "" : "; ") + std::string(pair.substr(0, equals)) + '=' +
                  hidden(value_bytes);
    }
    return masked;
}

struct Shown {
    std::string text;
    bool masked = false;
};

Shown shown_value(const std::string& name, const std::string& value) {
    if (name == "HTTP_COOKIE") return {mask_cookies(value), true};
    if (holds_a_secret(name) || is_server_path(name, value)) return {hidden(value.size()), true};
    return {value, false};
}

void print_table(const std::vector<Variable>& variables) {
    std::cout << "<table>\n<thead><tr><th>Name</th><th>Value</th></tr></thead>\n<tbody>\n";
    for (const auto& [name, value] : variables) {
        const Shown shown = shown_value(name, value);
        std::cout << "<tr><td><code>" << samples::escape_html(name) << "</code></td><td>"
                  << (shown.masked ? "<code class=\"masked\">" : "<code>")
                  << samples::escape_html(shown.text) << "</code></td></tr>\n";
    }
    std::cout << "</tbody>\n</table>\n";
}

void print_why_some_are_hidden() {
    std::cout
        << "<h2 id=\"hidden\">Why some values are hidden</h2>\n"
           "<ul class=\"note\">\n"
           "<li><strong>Cookies</strong> (<code>HTTP_COOKIE</code>) show their names only. A "
           "session cookie is <code>HttpOnly</code> so that no script on a page can read it; "
           "printing it into this page would undo that, since every script on the page can "
           "read the page.</li>\n"
           "<li><strong>Credentials</strong> (<code>HTTP_AUTHORIZATION</code>, and any variable "
           "whose name says it holds a secret, token or password) are never shown.</li>\n"
           "<li><strong>Paths on the server</strong> (<code>DOCUMENT_ROOT</code>, "
           "<code>SCRIPT_FILENAME</code>, <code>PATH_TRANSLATED</code>, "
           "<code>CGIHOST_DATA_DIR</code>, <code>PATH</code>...) tell where the server keeps its "
           "files, which helps an attacker more than a visitor. A program uses them; a page "
           "need not show them.</li>\n"
           "</ul>\n";
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
                 "<a href=\"?colour=blue&amp;size=2\">adding a query string</a>. Secrets and "
                 "paths on the server are <a href=\"#hidden\">shown only by their size</a>.</p>\n";
    print_table(variables);
    print_why_some_are_hidden();
    samples::page_end();
}
