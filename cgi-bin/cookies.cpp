// cookies: remembers a visitor with two cookies, reads them back, and forgets them on request.
//
// Shows the whole life of a cookie (RFC 6265). A POST with action=save sets a session id and
// the colour chosen in the form; the browser then sends both back in the Cookie header of every
// request, which the server passes on as HTTP_COOKIE and cgicc splits into getCookieList(). A
// POST with action=forget expires both (Max-Age=0). Changes of state are POSTs, answered with
// 303 See Other so that reloading the page never repeats them.
//
// The session id is the server's, never the client's (issue 12: session fixation, where an
// attacker plants an id of their choosing in a victim's browser and later shares the session).
// Every save issues a new one: 128 bits from getrandom(2), the time it was issued, and an
// HMAC-SHA-256 of both under a key that only this program knows (kept in
// <data>/cookies/secret, made on first use). An id whose HMAC does not match was not issued
// here and is ignored, as is one older than the cookie's lifetime. Nothing is stored per
// visitor, so the ids need no clean-up.
//
// The session id is HttpOnly (page scripts cannot read it), so this page never prints it, nor
// any cookie's value: a page's scripts can read the page. Every cookie is SameSite=Lax (other
// sites' forms do not get it sent along) and Secure under HTTPS. cgicc's HTTPCookie cannot say
// HttpOnly or SameSite, so the Set-Cookie lines are written here. What comes back is the
// client's to choose: it is escaped when shown and checked before it is used.
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <cgicc/CgiEnvironment.h>
#include <cgicc/Cgicc.h>
#include <cgicc/HTTPContentHeader.h>
#include <cgicc/HTTPCookie.h>

#include "data_files.hpp"
#include "html.hpp"
#include "request.hpp"
#include "sha256.hpp"

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

constexpr std::size_t kSecretBytes = 32;  // the HMAC key: as long as SHA-256's output

// `size` bytes from the kernel's CSPRNG (getrandom(2)), in hex.
std::string random_hex(std::size_t size) {
    std::vector<unsigned char> bytes(size);
    for (std::size_t filled = 0; filled < size;) {
        ssize_t n = getrandom(bytes.data() + filled, size - filled, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::system_error(errno, std::generic_category(), "getrandom");
        filled += static_cast<std::size_t>(n);
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char byte : bytes) {
        hex += kHex[byte >> 4];
        hex += kHex[byte & 0xf];
    }
    return hex;
}

std::string bytes_from_hex(std::string_view hex) {
    std::string bytes;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        unsigned value = 0;
        std::from_chars(hex.data() + i, hex.data() + i + 2, value, 16);
        bytes += static_cast<char>(value);
    }
    return bytes;
}

bool is_lower_hex(std::string_view text, std::size_t size) {
    return text.size() == size && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The key that signs session ids: <data>/cookies/secret, 64 hex digits, made on first use. Two
// first requests at once may both make one; link(2) lets exactly one of them become the key.
std::string signing_key() {
    const std::filesystem::path directory = samples::data_subdirectory("cookies");
    const std::filesystem::path path = directory / "secret";
    for (int attempt = 0; attempt < 2; ++attempt) {
        samples::FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        if (fd) {
            std::string hex(2 * kSecretBytes + 1, '\0');
            ssize_t n = ::read(fd.get(), hex.data(), hex.size());
            if (n != static_cast<ssize_t>(2 * kSecretBytes) || !is_lower_hex(hex.substr(0, n), n)) {
                throw std::runtime_error("cookies: " + path.string() + " is not a key");
            }
            return bytes_from_hex(hex.substr(0, n));
        }
        if (errno != ENOENT) throw std::system_error(errno, std::generic_category(), "open key");
        std::string temporary = (directory / ".secret-XXXXXX").string();
        samples::FileDescriptor out(::mkstemp(temporary.data()));  // mode 0600
        if (!out) throw std::system_error(errno, std::generic_category(), "create key");
        bool written =
            samples::write_all(out.get(), random_hex(kSecretBytes)) && ::fsync(out.get()) == 0;
        bool linked = written && ::link(temporary.c_str(), path.c_str()) == 0;
        int saved_errno = errno;
        ::unlink(temporary.c_str());
        if (!linked && (!written || saved_errno != EEXIST)) {
            throw std::system_error(saved_errno, std::generic_category(), "write key");
        }
    }
    throw std::runtime_error("cookies: no signing key");
}

// HMAC-SHA-256 (RFC 2104) of `message` under `key` (at most one 64-byte block long), in hex.
std::string hmac_sha256(std::string_view key, std::string_view message) {
    constexpr std::size_t kBlockBytes = 64;
    std::string inner_pad(kBlockBytes, '\x36');
    std::string outer_pad(kBlockBytes, '\x5c');
    for (std::size_t i = 0; i < key.size() && i < kBlockBytes; ++i) {
        inner_pad[i] = static_cast<char>(inner_pad[i] ^ key[i]);
        outer_pad[i] = static_cast<char>(outer_pad[i] ^ key[i]);
    }
    samples::Sha256 inner;
    inner.update(inner_pad);
    inner.update(message);
    samples::Sha256 outer;
    outer.update(outer_pad);
    outer.update(bytes_from_hex(inner.hex_digest()));
    return outer.hex_digest();
}

// Compares in time that does not depend on where the first difference is, so that a client
// cannot find a valid signature byte by byte by timing the answers.
bool equal_in_constant_time(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    unsigned char difference = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        difference |= static_cast<unsigned char>(a[i] ^ b[i]);
    }
    return difference == 0;
}

// A new session id: "<32 hex random>.<issued, Unix seconds>.<64 hex HMAC of the two>". Hex,
// digits and dots only, so it needs no quoting in a cookie (RFC 6265 §4.1.1).
std::string new_session_id(std::string_view key, std::time_t now) {
    const std::string issued = random_hex(kSessionIdBytes) + '.' + std::to_string(now);
    return issued + '.' + hmac_sha256(key, issued);
}

// When `value` is a session id this program issued and that has not expired: its issue time.
std::optional<std::time_t> issued_at(std::string_view key, std::string_view value,
                                     std::time_t now) {
    const std::size_t first_dot = value.find('.');
    const std::size_t last_dot = value.rfind('.');
    if (first_dot != 2 * kSessionIdBytes || last_dot == first_dot ||
        !is_lower_hex(value.substr(0, first_dot), 2 * kSessionIdBytes) ||
        !is_lower_hex(value.substr(last_dot + 1), 64)) {
        return std::nullopt;
    }
    if (!equal_in_constant_time(hmac_sha256(key, value.substr(0, last_dot)),
                                value.substr(last_dot + 1))) {
        return std::nullopt;
    }
    std::string_view digits = value.substr(first_dot + 1, last_dot - first_dot - 1);
    std::time_t issued = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), issued);
    if (error != std::errc{} || end != digits.data() + digits.size() || issued > now ||
        now - issued >= kCookieLifetime) {
        return std::nullopt;
    }
    return issued;
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
    // A new id on every save, whatever the browser sent: an id that someone else chose or saw
    // before this save is worth nothing afterwards.
    const std::string id = new_session_id(signing_key(), std::time(nullptr));
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

// Names only: the values are the browser's own, and the session id is HttpOnly so that no
// script on a page can read it, which printing it here would undo.
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
                  << "</code></td><td><code class=\"masked\">(hidden, " << cookie.getValue().size()
                  << " bytes)</code></td></tr>\n";
    }
    std::cout << "</tbody>\n</table>\n"
                 "<p class=\"note\">Values are not shown: a cookie marked <code>HttpOnly</code> "
                 "is kept from the page's scripts, and printing it into the page would hand it to "
                 "them.</p>\n";
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
    const std::time_t now = std::time(nullptr);
    const std::string id = cookie_value(environment, kSessionCookie).value_or("");
    const std::optional<std::time_t> issued =
        id.empty() ? std::nullopt : issued_at(signing_key(), id, now);
    const Colour* colour = find_colour(cookie_value(environment, kColourCookie).value_or(""));

    std::cout << cgicc::HTTPContentHeader(samples::kHtmlContentType);
    samples::page_start("Cookies");
    if (issued) {
        std::cout << "<p>Welcome back. This program issued your session id on "
                  << http_date(*issued)
                  << "; its cookie is HttpOnly, so no script on a page can read it.</p>\n";
    } else if (!id.empty()) {
        std::cout << "<p>Your browser sent a session id that this program did not issue, or "
                     "that has expired: it is ignored. Choose a colour below for a new one.</p>\n";
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
    } catch (const std::exception& error) {
        // No key (an unwritable data directory) or no random bytes: the server's fault.
        std::cerr << "cookies: " << error.what() << '\n';
        samples::send_error_page(500, "Internal Server Error", "The session could not be made.");
    }
}
