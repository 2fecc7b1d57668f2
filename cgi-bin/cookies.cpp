// cookies: remembers a visitor with two cookies, reads them back, and forgets them on request.
//
// Shows the whole life of a cookie (RFC 6265). A POST with action=save sets a random session
// id and the colour chosen in the form; the browser then sends both back in the Cookie header
// of every request, which the server passes on as HTTP_COOKIE and cgicc splits into
// getCookieList(). A POST with action=forget expires both (Max-Age=0). Changes of state are
// POSTs, answered with 303 See Other so that reloading the page never repeats them.
//
// The session id is HttpOnly (page scripts cannot read it), every cookie is SameSite=Lax (other
// sites' forms do not get it sent along) and Secure under HTTPS. cgicc's HTTPCookie cannot say
// HttpOnly or SameSite, so the Set-Cookie lines are written here. What comes back is the
// client's to choose: it is escaped when shown and checked before it is used.
#include <sys/random.h>

#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <cgicc/CgiEnvironment.h>
#include <cgicc/Cgicc.h>
#include <cgicc/HTTPContentHeader.h>
#include <cgicc/HTTPCookie.h>

#include "html.hpp"
#include "request.hpp"

namespace {

constexpr const char* kSessionCookie = "session_id";
constexpr const char* kColourCookie = "colour";
constexpr long kCookieLifetime = 30L * 24 * 60 * 60;  // seconds: thirty days
constexpr std::size_t kSessionIdBytes = 16;

struct Colour {
    const char* name;
    const char* css;
};

constexpr Colour kColours[] = {
    {"teal", "#0f766e"}, {"crimson", "#b91c1c"}, {"indigo", "#4338ca"}, {"amber", "#b45309"}};

const Colour* find_colour(const std::string& name) {
    for (const Colour& colour : kColours) {
        if (name == colour.name) return &colour;
    }
    return nullptr;
}

// An IMF-fixdate (RFC 9110 §5.6.7) for Expires, which browsers older than Max-Age rely on.
std::string http_date(std::time_t when) {
    std::tm utc{};
    gmtime_r(&when, &utc);
    char text[64];
    std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
    return text;
}

// One Set-Cookie header line (RFC 6265 §4.1). A max_age of 0 tells the browser to delete it.
std::string set_cookie(const std::string& name, const std::string& value, long max_age,
                       bool http_only, bool secure) {
    std::string line =
        "Set-Cookie: " + name + '=' + value + "; Path=/; Max-Age=" + std::to_string(max_age) +
        "; Expires=" + http_date(max_age > 0 ? std::time(nullptr) + max_age : 0) + "; SameSite=Lax";
    if (http_only) line += "; HttpOnly";
    if (secure) line += "; Secure";
    return line + '\n';
}

// 128 bits from the kernel's CSPRNG, in hex: unguessable, and safe in a cookie value.
std::string new_session_id() {
    unsigned char bytes[kSessionIdBytes];
    if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
        throw samples::RequestError(500, "Internal Server Error",
                                    "No random bytes for a session id.");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id;
    for (unsigned char byte : bytes) {
        id += kHex[byte >> 4];
        id += kHex[byte & 0xf];
    }
    return id;
}

bool is_session_id(const std::string& value) {
    return value.size() == 2 * kSessionIdBytes &&
           value.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::optional<std::string> cookie_value(const cgicc::CgiEnvironment& environment,
                                        const std::string& name) {
    for (const cgicc::HTTPCookie& cookie : environment.getCookieList()) {
        if (cookie.getName() == name) return cookie.getValue();
    }
    return std::nullopt;
}

// 303 See Other: the browser follows with a GET of this page, which shows the new cookies.
void send_see_other(const cgicc::CgiEnvironment& environment, const std::string& cookie_lines) {
    const std::string location = samples::absolute_url(environment, environment.getScriptName());
    std::cout << "Status: 303 See Other\n"
              << "Location: " << location << '\n'
              << cookie_lines << "Content-Type: " << samples::kHtmlContentType << "\n\n";
    samples::page_start("Cookies updated");
    std::cout << "<p><a href=\"" << samples::escape_html(location) << "\">See them</a></p>\n";
    samples::page_end();
}

void save(const cgicc::Cgicc& cgi) {
    const std::string colour = samples::required_field(cgi, "colour");
    if (find_colour(colour) == nullptr) {
        throw samples::RequestError(400, "Bad Request", "“" + colour + "” is not a colour here.");
    }
    const cgicc::CgiEnvironment& environment = cgi.getEnvironment();
    // Keep the visitor's id if it still has one of ours; otherwise this is a new visitor.
    std::string id = cookie_value(environment, kSessionCookie).value_or("");
    if (!is_session_id(id)) id = new_session_id();
    const bool secure = environment.usingHTTPS();
    send_see_other(
        environment,
        set_cookie(kSessionCookie, id, kCookieLifetime, /*http_only=*/true, secure) +
            set_cookie(kColourCookie, colour, kCookieLifetime, /*http_only=*/false, secure));
}

void forget(const cgicc::Cgicc& cgi) {
    const cgicc::CgiEnvironment& environment = cgi.getEnvironment();
    const bool secure = environment.usingHTTPS();
    // A cookie is deleted by setting it again, same name and Path, already expired.
    send_see_other(environment, set_cookie(kSessionCookie, "", 0, /*http_only=*/true, secure) +
                                    set_cookie(kColourCookie, "", 0, /*http_only=*/false, secure));
}

void print_received_cookies(const cgicc::CgiEnvironment& environment) {
    const std::vector<cgicc::HTTPCookie>& cookies = environment.getCookieList();
    std::cout << "<h2>What your browser sent</h2>\n";
    if (cookies.empty()) {
        std::cout << "<p>No cookies came with this request.</p>\n";
        return;
    }
    std::cout << "<table>\n<thead><tr><th>Name</th><th>Value</th></tr></thead>\n<tbody>\n";
    for (const cgicc::HTTPCookie& cookie : cookies) {
        std::cout << "<tr><td><code>" << samples::escape_html(cookie.getName())
                  << "</code></td><td><code>" << samples::escape_html(cookie.getValue())
                  << "</code></td></tr>\n";
    }
    std::cout << "</tbody>\n</table>\n";
}

void print_forms(const std::string& script_name) {
    const std::string action = samples::escape_html(script_name);
    std::cout << "<h2>Change them</h2>\n"
              << "<form method=\"post\" action=\"" << action << "\">\n"
              << "<input type=\"hidden\" name=\"action\" value=\"save\">\n"
              << "<label>Favourite colour <select name=\"colour\">\n";
    for (const Colour& colour : kColours) {
        std::cout << "<option value=\"" << colour.name << "\">" << colour.name << "</option>\n";
    }
    std::cout << "</select></label>\n"
                 "<button type=\"submit\">Remember me</button>\n"
                 "</form>\n"
              << "<form method=\"post\" action=\"" << action << "\">\n"
              << "<input type=\"hidden\" name=\"action\" value=\"forget\">\n"
                 "<button type=\"submit\">Forget me</button>\n"
                 "</form>\n";
}

void show(const cgicc::Cgicc& cgi) {
    const cgicc::CgiEnvironment& environment = cgi.getEnvironment();
    const std::string id = cookie_value(environment, kSessionCookie).value_or("");
    const Colour* colour = find_colour(cookie_value(environment, kColourCookie).value_or(""));

    std::cout << cgicc::HTTPContentHeader(samples::kHtmlContentType);
    samples::page_start("Cookies");
    if (is_session_id(id)) {  // hex digits only: nothing in it to escape
        std::cout << "<p>Welcome back. Your session id is <code>" << id
                  << "</code>; its cookie is HttpOnly, so no script on a page can read it.</p>\n";
    } else {
        std::cout << "<p>Your browser has no session id from this program yet: choose a "
                     "colour below, and it will get two cookies.</p>\n";
    }
    if (colour != nullptr) {
        // Only a colour from kColours gets here, so its CSS value is ours, not the client's.
        std::cout << "<p>Your colour: <span class=\"swatch\" style=\"background: " << colour->css
                  << "\"></span> <strong class=\"chosen\">" << colour->name << "</strong></p>\n";
    }
    print_received_cookies(environment);
    print_forms(environment.getScriptName());
    samples::page_end();
}

}  // namespace

int main() {
    try {
        samples::require_method({"GET", "HEAD", "POST"});
        const cgicc::Cgicc cgi = samples::read_form();
        if (cgi.getEnvironment().getRequestMethod() != "POST") {
            show(cgi);
            return 0;
        }
        const std::string action = samples::required_field(cgi, "action");
        samples::require_choice("action", action, {"save", "forget"});
        if (action == "save") {
            save(cgi);
        } else {
            forget(cgi);
        }
    } catch (const samples::RequestError& error) {
        samples::send_error_page(error);
    }
}
