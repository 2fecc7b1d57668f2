#include "cgi/cgi_response_parser.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "http/http_message.hpp"
#include "http/http_status.hpp"

namespace cgihost {
namespace {

bool is_alpha_ascii(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit_ascii(char c) {
    return c >= '0' && c <= '9';
}

// RFC 9110 §5.5: field values hold no CTLs but HT. A CR or LF here would let the script (or
// whoever feeds it) split the response and forge headers, and a NUL truncates C strings.
bool has_control_character(std::string_view value) {
    return std::any_of(value.begin(), value.end(), [](char c) {
        auto byte = static_cast<unsigned char>(c);
        return (byte < 0x20 && byte != '\t') || byte == 0x7f;
    });
}

// OWS (RFC 9110 §5.6.3) around a field value is not part of it.
std::string_view trim_whitespace(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

// RFC 9110 §7.6.1 hop-by-hop fields, plus Trailer: message framing and the connection belong to
// the server, which frames the response itself and never sends trailers.
bool is_server_controlled(std::string_view name) {
    for (std::string_view field : {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
                                   "Transfer-Encoding", "Upgrade"}) {
        if (equals_ignore_case(name, field)) return true;
    }
    return false;
}

// RFC 3875 §6.3.2 local-pathquery: an abs-path, which cannot start with "//" (that would be a
// network-path reference naming another host, RFC 3986 §4.2).
bool is_local_path(std::string_view location) {
    return location.starts_with('/') && !location.starts_with("//");
}

// RFC 3875 §6.3.2 (and RFC 3986 §3.1): an absolute URI starts with a scheme and ':'.
bool is_absolute_uri(std::string_view location) {
    size_t colon = location.find(':');
    if (colon == location.npos || colon == 0 || !is_alpha_ascii(location[0])) return false;
    return std::all_of(location.begin(), location.begin() + colon, [](char c) {
        return is_alpha_ascii(c) || is_digit_ascii(c) || c == '+' || c == '-' || c == '.';
    });
}

// 1*DIGIT and nothing else (RFC 9110 §8.6); no sign, no spaces, no overflow.
std::optional<uint64_t> parse_content_length(std::string_view text) {
    if (text.empty() || !std::all_of(text.begin(), text.end(), is_digit_ascii)) return std::nullopt;
    uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

std::string_view standard_reason_phrase(int status) {
    // One table for the whole server (http_status); unknown codes get no phrase here.
    std::string_view phrase = reason_phrase(status);
    return phrase == "Unknown" ? std::string_view() : phrase;
}

CgiResponseParser::CgiResponseParser(size_t max_header_bytes)
    : max_header_bytes_(max_header_bytes) {}

CgiResponseParser::Result CgiResponseParser::feed(std::string_view data, size_t& consumed) {
    consumed = 0;
    while (state_ == Result::need_more && consumed < data.size()) {
        std::string_view rest = data.substr(consumed);
        size_t newline = rest.find('\n');
        size_t take = newline == rest.npos ? rest.size() : newline + 1;
        // Checked before buffering, so a script that never ends its headers cannot make us
        // hold more than the limit.
        if (take > max_header_bytes_ - header_bytes_) {
            return fail("header block is longer than " + std::to_string(max_header_bytes_) +
                        " bytes");
        }
        header_bytes_ += take;
        consumed += take;
        if (newline == rest.npos) {
            partial_line_.append(rest);
        } else if (partial_line_.empty()) {
            parse_line(rest.substr(0, newline));
        } else {
            partial_line_.append(rest.substr(0, newline));
            std::string line = std::exchange(partial_line_, {});
            parse_line(line);
        }
    }
    return state_;
}

CgiResponseParser::Result CgiResponseParser::finish() {
    if (state_ != Result::need_more) return state_;
    if (header_bytes_ == 0) return fail("script produced no output");
    return fail("script output ended before the blank line that ends its headers");
}

CgiResponseParser::Result CgiResponseParser::parse_line(std::string_view line) {
    ++line_number_;
    // RFC 3875 §7.2: on UNIX the newline (NL of §6) is LF; servers SHOULD also accept CR LF.
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty()) return complete_head();
    // Line folding is obsolete (RFC 9112 §5.2), which lets a gateway refuse the response (with a
    // 502) instead of unfolding it. A script that still folds is broken, so say so.
    if (line.front() == ' ' || line.front() == '\t') {
        return fail("line " + std::to_string(line_number_) + ": obsolete line folding");
    }
    size_t colon = line.find(':');
    if (colon == line.npos) {
        return fail("line " + std::to_string(line_number_) + ": header line without ':'");
    }
    return parse_field(line.substr(0, colon), trim_whitespace(line.substr(colon + 1)));
}

CgiResponseParser::Result CgiResponseParser::parse_field(std::string_view name,
                                                         std::string_view value) {
    std::string where = "line " + std::to_string(line_number_) + ": ";
    // RFC 3875 §6.3 takes field-name from HTTP: a token, which also rules out "Name :".
    if (!is_http_token(name)) return fail(where + "invalid header name");
    if (has_control_character(value)) return fail(where + "control character in a header value");
    // §6.3: each CGI field (Content-Type, Location, Status) MUST NOT appear more than once.
    if (equals_ignore_case(name, "Status")) {
        if (saw_status_) return fail(where + "more than one Status header");
        saw_status_ = true;
        return parse_status(value);  // §6.3.3: for the server, never passed on as a header
    }
    if (equals_ignore_case(name, "Content-Type")) {
        if (saw_content_type_) return fail(where + "more than one Content-Type header");
        saw_content_type_ = true;
    } else if (equals_ignore_case(name, "Location")) {
        if (head_.location) return fail(where + "more than one Location header");
        head_.location = std::string(value);
    } else if (is_server_controlled(name)) {
        return Result::need_more;
    }
    head_.headers.emplace_back(std::string(name), std::string(value));
    return Result::need_more;
}

// RFC 3875 §6.3.3: Status = "Status:" status-code SP reason-phrase, status-code = 3digit.
CgiResponseParser::Result CgiResponseParser::parse_status(std::string_view value) {
    std::string where = "line " + std::to_string(line_number_) + ": ";
    bool three_digits =
        value.size() >= 3 && std::all_of(value.begin(), value.begin() + 3, is_digit_ascii);
    if (!three_digits || (value.size() > 3 && value[3] != ' ' && value[3] != '\t')) {
        return fail(where + "Status must start with a three-digit code");
    }
    int code = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    // A 1xx is an interim response (RFC 9110 §15.2), never a final one: a script cannot end its
    // response with one, and a 101 would tell the client the connection changed protocols.
    if (code < 200 || code > 599) {
        return fail(where + "Status code " + std::to_string(code) + " is not in 200-599");
    }
    head_.status = code;
    head_.reason = std::string(trim_whitespace(value.substr(3)));
    return Result::need_more;
}

// The blank line arrived: check the head as a whole and work out its kind (RFC 3875 §6.2).
CgiResponseParser::Result CgiResponseParser::complete_head() {
    if (!saw_status_ && !saw_content_type_ && !head_.location) {
        return fail("headers have none of Content-Type, Location and Status");  // §6.2
    }
    if (head_.location) {
        bool local = is_local_path(*head_.location);
        if (!local && !is_absolute_uri(*head_.location)) {
            return fail("Location is neither a local path nor an absolute URI");  // §6.3.2
        }
        if (saw_status_) {
            head_.kind = CgiResponseKind::client_redirect_with_document;  // §6.2.4
        } else if (local) {
            // §6.2.2 wants the Location alone; other fields are tolerated rather than refused,
            // since the server discards them anyway when it serves the new path instead.
            head_.kind = CgiResponseKind::local_redirect;  // §6.2.2
        } else {
            head_.kind = CgiResponseKind::client_redirect;  // §6.2.3: the server MUST send 302
            head_.status = 302;
        }
    }
    if (head_.reason.empty()) head_.reason = standard_reason_phrase(head_.status);
    settle_content_length();
    state_ = Result::done;
    return state_;
}

// The server compares the script's Content-Length with what the script really writes, so an
// unparsable value — or several that disagree — is dropped rather than passed to the client,
// where a wrong length would break the framing of the connection. Agreeing repeats collapse to
// the first one.
void CgiResponseParser::settle_content_length() {
    std::optional<uint64_t> length;
    bool seen = false;
    bool usable = true;
    for (const auto& [name, value] : head_.headers) {
        if (!equals_ignore_case(name, "Content-Length")) continue;
        auto parsed = parse_content_length(value);
        if (!parsed || (seen && parsed != length)) usable = false;
        if (!seen) length = parsed;
        seen = true;
    }
    if (!seen) return;
    bool kept_one = false;
    std::erase_if(head_.headers, [&](const auto& field) {
        if (!equals_ignore_case(field.first, "Content-Length")) return false;
        bool keep = usable && !kept_one;
        kept_one = kept_one || keep;
        return !keep;
    });
    if (usable) head_.content_length = length;
}

CgiResponseParser::Result CgiResponseParser::fail(std::string message) {
    state_ = Result::error;
    error_ = std::move(message);
    return state_;
}

}  // namespace cgihost
