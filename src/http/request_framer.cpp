#include "http/request_framer.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "http/http_message.hpp"
#include "http/http_status.hpp"

namespace cgihost {
namespace {

constexpr size_t kCrlfSize = 2;
constexpr size_t kMaxChunkSizeDigits = 16;  // 64 bits of hexadecimal

bool is_whitespace(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim_whitespace(std::string_view text) {
    while (!text.empty() && is_whitespace(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && is_whitespace(text.back()))
        text.remove_suffix(1);
    return text;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 9110 §8.6: Content-Length = 1*DIGIT. Not "+5", " 5", "5, 5" or "0x5". nullopt-like
// failure is `valid = false`; a number beyond 64 bits saturates, which every limit refuses.
struct ParsedLength {
    bool valid = false;
    uint64_t value = 0;
};
ParsedLength parse_content_length(std::string_view text) {
    ParsedLength parsed{!text.empty(), 0};
    for (char c : text) {
        if (c < '0' || c > '9') return {};
        const auto digit = static_cast<uint64_t>(c - '0');
        if (parsed.value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
            parsed.value = std::numeric_limits<uint64_t>::max();
        } else {
            parsed.value = parsed.value * 10 + digit;
        }
    }
    return parsed;
}

// RFC 9110 §5.6.6: quoted-string, with quoted-pair; returns the bytes it spans, 0 if invalid.
size_t quoted_string_length(std::string_view text) {
    if (text.empty() || text.front() != '"') return 0;
    for (size_t i = 1; i < text.size(); ++i) {
        if (text[i] == '"') return i + 1;
        if (text[i] == '\\') ++i;
        if (i < text.size() && is_control_byte(text[i]) && text[i] != '\t') return 0;
    }
    return 0;
}

size_t token_length(std::string_view text) {
    size_t length = 0;
    while (length < text.size() && is_http_token(text.substr(length, 1)))
        ++length;
    return length;
}

// RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ),
// the value a token or a quoted-string. Extensions are understood by nobody here and ignored.
bool is_valid_chunk_extensions(std::string_view text) {
    while (!text.empty()) {
        text = text.substr(std::min(text.size(), text.find_first_not_of(" \t")));
        if (text.empty() || text.front() != ';') return false;
        text = trim_whitespace(text.substr(1));
        size_t name = token_length(text);
        if (name == 0) return false;
        text = text.substr(name);
        std::string_view rest = trim_whitespace(text);
        if (rest.empty() || rest.front() != '=') {
            text = rest;
            continue;
        }
        rest = trim_whitespace(rest.substr(1));
        size_t value =
            !rest.empty() && rest.front() == '"' ? quoted_string_length(rest) : token_length(rest);
        if (value == 0) return false;
        text = rest.substr(value);
    }
    return true;
}

// The transfer codings of a Transfer-Encoding value, in order; empty list items are skipped.
std::vector<std::string_view> transfer_codings(std::string_view value) {
    std::vector<std::string_view> codings;
    while (!value.empty()) {
        std::string_view item = value.substr(0, value.find(','));
        value.remove_prefix(std::min(value.size(), item.size() + 1));
        item = trim_whitespace(item);
        if (!item.empty()) codings.push_back(item);
    }
    return codings;
}

// RFC 9112 §5: field-name ":" OWS field-value OWS, with no whitespace before the colon
// (§5.1) and a valid value; nullopt for anything else. A line starting with whitespace
// (obs-fold, §5.2) has no token for a name, so it is refused too.
std::optional<std::pair<std::string_view, std::string_view>> split_field_line(
    std::string_view line) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim_whitespace(line.substr(colon + 1));
    if (!is_http_token(name) || !is_valid_field_value(value)) return std::nullopt;
    return std::pair{name, value};
}

}  // namespace

bool RequestFramer::in_body() const {
    return state_ == State::length || state_ == State::chunk_line || state_ == State::chunk_data ||
           state_ == State::chunk_crlf || state_ == State::trailer;
}

void RequestFramer::next_request() {
    const FramingLimits limits = limits_;
    *this = RequestFramer(limits);
}

RequestFramer::Step RequestFramer::fail(int status, std::string reason, size_t consumed) {
    state_ = State::done;
    error_status_ = status;
    error_reason_ = std::move(reason);
    return {Event::error, consumed};
}

RequestFramer::Step RequestFramer::advance(std::string_view input) {
    switch (state_) {
        case State::idle:
            if (input.empty()) return {};
            state_ = State::head;
            return take_head(input);
        case State::head:
            return take_head(input);
        case State::done:
            return {Event::complete, 0};
        default:
            return take_body(input);
    }
}

// Moves bytes up to and including the next LF into line_, never letting line_ grow past
// `limit` bytes plus a CRLF. Returns the bytes taken; `complete` says an LF was among them.
RequestFramer::Step RequestFramer::take_line(std::string_view input, size_t limit,
                                             int too_long_status) {
    const size_t room = limit + kCrlfSize > line_.size() ? limit + kCrlfSize - line_.size() : 0;
    const std::string_view window = input.substr(0, room);
    const size_t lf = window.find('\n');
    const size_t take = lf == std::string_view::npos ? window.size() : lf + 1;
    line_.append(window.data(), take);
    if (lf == std::string_view::npos) {
        if (line_.size() >= limit + kCrlfSize) {
            return fail(too_long_status,
                        too_long_status == status::bad_request ? "A chunk-size line is too long."
                                                               : "The request head is too large.",
                        take);
        }
        return {Event::need_more, take};
    }
    // RFC 9112 §2.2 lets a recipient accept a bare LF; we do not, so that no proxy in front
    // can see a line end where we see none (or the reverse).
    if (line_.size() < kCrlfSize || line_[line_.size() - 2] != '\r') {
        return fail(status::bad_request, "A line does not end with CRLF.", take);
    }
    return {Event::head, take};  // `head` here only means "a whole line is in line_"
}

RequestFramer::Step RequestFramer::take_head(std::string_view input) {
    size_t consumed = 0;
    while (true) {
        const int too_long =
            seen_request_line_ ? status::header_fields_too_large : status::uri_too_long;
        if (head_bytes_ + kCrlfSize > limits_.max_head_size) {
            return fail(too_long, "The request head is too large.", consumed);
        }
        const auto limit = static_cast<size_t>(limits_.max_head_size - head_bytes_ - kCrlfSize);
        Step line = take_line(input.substr(consumed), limit, too_long);
        consumed += line.consumed;
        if (line.event != Event::head) return {line.event, consumed};
        head_bytes_ += line_.size();
        const std::string text = std::exchange(line_, {});
        if (!head_line(std::string_view(text).substr(0, text.size() - kCrlfSize))) {
            return {Event::error, consumed};
        }
        if (state_ == State::body_start) return {Event::head, consumed};
    }
}

bool RequestFramer::head_line(std::string_view line) {
    if (!seen_request_line_) {
        // RFC 9112 §2.2: empty lines before the request line are ignored.
        return line.empty() || request_line(line);
    }
    return line.empty() ? end_of_head() : field_line(line);
}

// RFC 9112 §3: method SP request-target SP HTTP-version, single spaces, no control bytes.
bool RequestFramer::request_line(std::string_view line) {
    seen_request_line_ = true;
    const size_t first = line.find(' ');
    const size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos) {
        fail(status::bad_request, "The request line is malformed.");
        return false;
    }
    std::string_view method = line.substr(0, first);
    std::string_view target = line.substr(first + 1, second - first - 1);
    std::string_view version = line.substr(second + 1);
    const bool valid_version = version.size() == 8 && version.starts_with("HTTP/") &&
                               std::isdigit(static_cast<unsigned char>(version[5])) != 0 &&
                               version[6] == '.' &&
                               std::isdigit(static_cast<unsigned char>(version[7])) != 0;
    if (!is_http_token(method) || !is_valid_request_target(target) || !valid_version) {
        fail(status::bad_request, "The request line is malformed.");
        return false;
    }
    // RFC 9110 §15.6.6: we speak HTTP/1.x only.
    if (version[5] != '1') {
        fail(status::http_version_not_supported, "Only HTTP/1.x is supported.");
        return false;
    }
    head_.method = std::string(method);
    head_.target = std::string(target);
    head_.version_minor = version[7] - '0';
    head_.text.append(line).append("\r\n");
    return true;
}

bool RequestFramer::field_line(std::string_view line) {
    if (is_whitespace(line.front())) {
        fail(status::bad_request, "Folded header lines (obs-fold) are not accepted.");
        return false;
    }
    const auto field = split_field_line(line);
    if (!field) {
        fail(status::bad_request, "A header line is malformed.");
        return false;
    }
    const auto [name, value] = *field;
    if (equals_ignore_case(name, "Content-Length")) {
        if (content_lengths_++ > 0 && value != content_length_) {
            fail(status::bad_request, "Conflicting Content-Length headers.");
            return false;
        }
        content_length_ = std::string(value);
    } else if (equals_ignore_case(name, "Transfer-Encoding")) {
        ++transfer_encodings_;
        transfer_encoding_ = std::string(value);
    } else if (equals_ignore_case(name, "Expect")) {
        // Each Expect field on its own: "100-continue" in two fields is still just that.
        (equals_ignore_case(value, "100-continue") ? expects_continue_ : expects_other_) = true;
    } else {
        head_.text.append(line).append("\r\n");
        head_.fields.emplace_back(name, value);
    }
    return true;
}

// RFC 9112 §6.3: the body's length, from exactly one of Transfer-Encoding: chunked and a
// valid Content-Length; anything ambiguous is refused and the connection closed.
bool RequestFramer::end_of_head() {
    head_.declares_body = transfer_encodings_ > 0 || content_lengths_ > 0;
    if (transfer_encodings_ > 0) {
        if (content_lengths_ > 0) {
            fail(status::bad_request, "Both Transfer-Encoding and Content-Length.");
            return false;
        }
        if (transfer_encodings_ > 1) {
            fail(status::bad_request, "Repeated Transfer-Encoding.");
            return false;
        }
        // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
        if (head_.version_minor == 0) {
            fail(status::bad_request, "Transfer-Encoding in an HTTP/1.0 request.");
            return false;
        }
        std::vector<std::string_view> codings = transfer_codings(transfer_encoding_);
        auto chunked = std::find_if(codings.begin(), codings.end(), [](std::string_view c) {
            return equals_ignore_case(c, "chunked");
        });
        if (chunked != codings.end() && chunked + 1 != codings.end()) {
            fail(status::bad_request, "Chunked must be the last transfer coding.");
            return false;
        }
        if (codings.size() != 1 || chunked == codings.end()) {
            fail(status::not_implemented, "Unsupported Transfer-Encoding.");  // RFC 9112 §6.1
            return false;
        }
        head_.framing = BodyFraming::chunked;
    } else if (content_lengths_ > 0) {
        ParsedLength length = parse_content_length(content_length_);
        if (!length.valid) {
            fail(status::bad_request, "Content-Length is not a number.");
            return false;
        }
        head_.framing = length.value > 0 ? BodyFraming::length : BodyFraming::none;
        head_.content_length = length.value;
    }
    return end_of_head_checks();
}

bool RequestFramer::end_of_head_checks() {
    // evhttp reads no body for HEAD or TRACE, and RFC 9110 gives theirs no meaning: the bytes
    // would be read as the next request. Refuse rather than guess.
    if (head_.framing != BodyFraming::none && (head_.method == "HEAD" || head_.method == "TRACE")) {
        fail(status::bad_request, "A HEAD or TRACE request cannot have a body.");
        return false;
    }
    if (head_.framing == BodyFraming::length && head_.content_length > limits_.max_body_size) {
        fail(status::payload_too_large, "The request body is too large.");
        return false;
    }
    // RFC 9110 §10.1.1: 100-continue is the only expectation; an HTTP/1.0 one is ignored.
    if ((expects_continue_ || expects_other_) && head_.version_minor >= 1) {
        if (expects_other_) {
            fail(status::expectation_failed, "Only Expect: 100-continue is supported.");
            return false;
        }
        head_.expect_continue = head_.framing != BodyFraming::none;
    }
    head_.text.append("\r\n");
    state_ = State::body_start;
    return true;
}

RequestFramer::Step RequestFramer::body_step(size_t consumed, Event event) {
    body_received_ += consumed;
    if (body_received_ > limits_.max_body_size) {
        return fail(status::payload_too_large, "The request body is too large.", consumed);
    }
    return {event, consumed};
}

RequestFramer::Step RequestFramer::take_body(std::string_view input) {
    switch (state_) {
        case State::body_start:
            if (head_.framing == BodyFraming::none) break;
            state_ = head_.framing == BodyFraming::length ? State::length : State::chunk_line;
            remaining_ = head_.content_length;
            return take_body(input);
        case State::length:
        case State::chunk_data: {
            const auto take = static_cast<size_t>(std::min<uint64_t>(remaining_, input.size()));
            remaining_ -= take;
            if (remaining_ == 0) state_ = state_ == State::length ? State::done : State::chunk_crlf;
            if (take > 0) return body_step(take, Event::body_data);
            if (state_ == State::done) return {Event::complete, 0};
            return {};
        }
        case State::chunk_crlf:
            return take_chunk_crlf(input);
        case State::chunk_line:
        case State::trailer:
            return take_chunk_line(input);
        default:
            return {};
    }
    state_ = State::done;
    return {Event::complete, 0};
}

// What of `input` framing may look at: the body allowance left and one byte more, so that
// the byte that breaks max_body_size is refused (413) wherever the socket cut the stream.
std::string_view RequestFramer::within_body_limit(std::string_view input) const {
    const uint64_t left = limits_.max_body_size - std::min(limits_.max_body_size, body_received_);
    return left < input.size() ? input.substr(0, static_cast<size_t>(left) + 1) : input;
}

// RFC 9112 §7.1: chunk data ends with exactly CRLF.
RequestFramer::Step RequestFramer::take_chunk_crlf(std::string_view input) {
    input = within_body_limit(input);
    size_t consumed = 0;
    while (consumed < input.size() && line_.size() < kCrlfSize) {
        const char expected = line_.empty() ? '\r' : '\n';
        if (input[consumed] != expected) {
            return fail(status::bad_request, "Chunk data is not followed by CRLF.", consumed);
        }
        line_.push_back(input[consumed++]);
    }
    if (line_.size() == kCrlfSize) {
        line_.clear();
        state_ = State::chunk_line;
    }
    return body_step(consumed, Event::need_more);
}

RequestFramer::Step RequestFramer::take_chunk_line(std::string_view input) {
    input = within_body_limit(input);
    const bool trailer = state_ == State::trailer;
    const size_t limit = trailer ? static_cast<size_t>(std::min<uint64_t>(
                                       limits_.max_head_size, limits_.max_chunk_line * 64))
                                 : limits_.max_chunk_line;
    Step line =
        take_line(input, limit, trailer ? status::header_fields_too_large : status::bad_request);
    if (line.event == Event::error) return line;
    Step step = body_step(line.consumed, Event::need_more);
    if (step.event == Event::error || line.event != Event::head) return step;
    const std::string text = std::exchange(line_, {});
    const std::string_view content = std::string_view(text).substr(0, text.size() - kCrlfSize);
    const bool accepted = trailer ? trailer_line(content) : chunk_size_line(content);
    if (!accepted) return {Event::error, step.consumed};
    if (state_ == State::done) return {Event::complete, step.consumed};
    return step;
}

// RFC 9112 §7.1: chunk-size = 1*HEXDIG, then optional extensions. Not "0x5", "+5", " 5".
bool RequestFramer::chunk_size_line(std::string_view line) {
    size_t digits = 0;
    size_t significant = 0;  // leading zeros are allowed, however many
    uint64_t size = 0;
    while (digits < line.size() && hex_value(line[digits]) >= 0) {
        const int digit = hex_value(line[digits++]);
        if (significant > 0 || digit != 0) ++significant;
        if (significant > kMaxChunkSizeDigits) {
            fail(status::payload_too_large, "A chunk is too large.");
            return false;
        }
        size = (size << 4U) | static_cast<uint64_t>(digit);
    }
    if (digits == 0 || !is_valid_chunk_extensions(line.substr(digits))) {
        fail(status::bad_request, "A chunk-size line is malformed.");
        return false;
    }
    if (size > limits_.max_body_size - std::min(limits_.max_body_size, body_received_)) {
        fail(status::payload_too_large, "The request body is too large.");
        return false;
    }
    remaining_ = size;
    state_ = size == 0 ? State::trailer : State::chunk_data;
    return true;
}

// RFC 9112 §7.1.2: trailer fields are checked like header fields, then dropped.
bool RequestFramer::trailer_line(std::string_view line) {
    if (line.empty()) {
        state_ = State::done;
        return true;
    }
    if (!split_field_line(line)) {
        fail(status::bad_request, "A trailer line is malformed.");
        return false;
    }
    return true;
}

}  // namespace cgihost
