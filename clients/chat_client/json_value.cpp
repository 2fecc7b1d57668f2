#include "chat_client/json_value.hpp"

#include <charconv>
#include <system_error>
#include <utility>

namespace cgihost::chat_client {
namespace {

// Thrown inside the parser only; parse_json turns it into JsonParseResult::error.
struct JsonSyntaxError {
    std::string message;
    size_t offset;
};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void append_utf8(std::string& out, char32_t code_point) {
    if (code_point < 0x80) {
        out += static_cast<char>(code_point);
    } else if (code_point < 0x800) {
        out += static_cast<char>(0xC0 | (code_point >> 6));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else if (code_point < 0x10000) {
        out += static_cast<char>(0xE0 | (code_point >> 12));
        out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code_point >> 18));
        out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code_point & 0x3F));
    }
}

// The length of the well-formed UTF-8 sequence starting at text[at] (RFC 3629 §4: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0.
size_t utf8_sequence_length(std::string_view text, size_t at) {
    auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
    unsigned char lead = byte(at);
    size_t length = lead < 0x80                    ? 1
                    : lead >= 0xC2 && lead <= 0xDF ? 2
                    : lead >= 0xE0 && lead <= 0xEF ? 3
                    : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                   : 0;
    if (length == 0 || at + length > text.size()) return 0;
    for (size_t i = 1; i < length; ++i) {
        if ((byte(at + i) & 0xC0) != 0x80) return 0;
    }
    unsigned char second = length > 1 ? byte(at + 1) : 0;
    if (lead == 0xE0 && second < 0xA0) return 0;  // overlong
    if (lead == 0xED && second > 0x9F) return 0;  // a surrogate
    if (lead == 0xF0 && second < 0x90) return 0;  // overlong
    if (lead == 0xF4 && second > 0x8F) return 0;  // above U+10FFFF
    return length;
}

class Parser {
  public:
    Parser(std::string_view text, const JsonLimits& limits) : text_(text), limits_(limits) {}

    JsonValue parse_document() {
        skip_whitespace();
        JsonValue value = parse_value(0);
        skip_whitespace();
        if (at_ != text_.size()) fail("unexpected bytes after the value");
        return value;
    }

  private:
    [[noreturn]] void fail(const std::string& message) const {
        throw JsonSyntaxError{message, at_};
    }

    bool at_end() const { return at_ >= text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[at_]; }

    void expect(char c) {
        if (at_end() || text_[at_] != c) fail(std::string("expected '") + c + "'");
        ++at_;
    }

    void skip_whitespace() {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
            ++at_;
        }
    }

    void expect_word(std::string_view word) {
        if (text_.substr(at_, word.size()) != word) fail("unknown literal");
        at_ += word.size();
    }

    JsonValue parse_value(size_t depth) {
        if (at_end()) fail("unexpected end of input");
        JsonValue value;
        switch (peek()) {
            case '{':
                return parse_object(depth + 1);
            case '[':
                return parse_array(depth + 1);
            case '"':
                value.kind = JsonValue::Kind::string;
                value.text = parse_string();
                return value;
            case 't':
                expect_word("true");
                value.kind = JsonValue::Kind::boolean;
                value.boolean = true;
                return value;
            case 'f':
                expect_word("false");
                value.kind = JsonValue::Kind::boolean;
                return value;
            case 'n':
                expect_word("null");
                return value;
            default:
                value.kind = JsonValue::Kind::number;
                value.text = parse_number();
                return value;
        }
    }

    void check_depth(size_t depth) const {
        if (depth > limits_.max_depth) fail("nested too deeply");
    }

    JsonValue parse_object(size_t depth) {
        check_depth(depth);
        expect('{');
        JsonValue object;
        object.kind = JsonValue::Kind::object;
        skip_whitespace();
        if (peek() == '}') {
            ++at_;
            return object;
        }
        for (;;) {
            skip_whitespace();
            if (peek() != '"') fail("expected a member name");
            std::string key = parse_string();
            if (object.find(key) != nullptr) fail("duplicate member \"" + key + "\"");
            skip_whitespace();
            expect(':');
            skip_whitespace();
            object.members.push_back({std::move(key), parse_value(depth)});
            skip_whitespace();
            if (peek() == '}') {
                ++at_;
                return object;
            }
            expect(',');
        }
    }

    JsonValue parse_array(size_t depth) {
        check_depth(depth);
        expect('[');
        JsonValue array;
        array.kind = JsonValue::Kind::array;
        skip_whitespace();
        if (peek() == ']') {
            ++at_;
            return array;
        }
        for (;;) {
            skip_whitespace();
            array.items.push_back(parse_value(depth));
            skip_whitespace();
            if (peek() == ']') {
                ++at_;
                return array;
            }
            expect(',');
        }
    }

    // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?  (RFC 8259 §6)
    std::string parse_number() {
        size_t start = at_;
        if (peek() == '-') ++at_;
        if (peek() == '0') {
            ++at_;
        } else if (is_digit(peek())) {
            while (is_digit(peek()))
                ++at_;
        } else {
            fail("expected a value");
        }
        if (peek() == '.') {
            ++at_;
            if (!is_digit(peek())) fail("expected a digit after '.'");
            while (is_digit(peek()))
                ++at_;
        }
        if (peek() == 'e' || peek() == 'E') {
            ++at_;
            if (peek() == '+' || peek() == '-') ++at_;
            if (!is_digit(peek())) fail("expected a digit in the exponent");
            while (is_digit(peek()))
                ++at_;
        }
        return std::string(text_.substr(start, at_ - start));
    }

    char32_t parse_hex4() {
        if (at_ + 4 > text_.size()) fail("truncated \\u escape");
        char32_t value = 0;
        for (int i = 0; i < 4; ++i) {
            int digit = hex_value(text_[at_++]);
            if (digit < 0) fail("bad hex digit in \\u escape");
            value = value * 16 + static_cast<char32_t>(digit);
        }
        return value;
    }

    // After "\u": one code point, joining a surrogate pair (RFC 8259 §7).
    char32_t parse_unicode_escape() {
        char32_t first = parse_hex4();
        if (first >= 0xDC00 && first <= 0xDFFF) fail("lone low surrogate");
        if (first < 0xD800 || first > 0xDBFF) return first;
        if (text_.substr(at_, 2) != "\\u") fail("high surrogate without its low half");
        at_ += 2;
        char32_t second = parse_hex4();
        if (second < 0xDC00 || second > 0xDFFF) fail("high surrogate without its low half");
        return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
    }

    void parse_escape(std::string& out) {
        if (at_end()) fail("unterminated string");
        char c = text_[at_++];
        switch (c) {
            case '"':
            case '\\':
            case '/':
                out += c;
                return;
            case 'b':
                out += '\b';
                return;
            case 'f':
                out += '\f';
                return;
            case 'n':
                out += '\n';
                return;
            case 'r':
                out += '\r';
                return;
            case 't':
                out += '\t';
                return;
            case 'u':
                append_utf8(out, parse_unicode_escape());
                return;
            default:
                --at_;
                fail("unknown escape");
        }
    }

    std::string parse_string() {
        expect('"');
        std::string out;
        for (;;) {
            if (at_end()) fail("unterminated string");
            auto c = static_cast<unsigned char>(text_[at_]);
            if (c == '"') {
                ++at_;
                return out;
            }
            if (c == '\\') {
                ++at_;
                parse_escape(out);
            } else if (c < 0x20) {
                fail("raw control byte in a string");
            } else {
                size_t length = utf8_sequence_length(text_, at_);
                if (length == 0) fail("invalid UTF-8");
                out.append(text_.substr(at_, length));
                at_ += length;
            }
        }
    }

    std::string_view text_;
    const JsonLimits& limits_;
    size_t at_ = 0;
};

template <typename Integer>
std::optional<Integer> to_integer(const JsonValue& value) {
    if (value.kind != JsonValue::Kind::number) return std::nullopt;
    const std::string& text = value.text;
    if (text.find_first_of(".eE") != std::string::npos || text == "-0") return std::nullopt;
    Integer result{};
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), result);
    if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return result;
}

}  // namespace

const JsonValue* JsonValue::find(std::string_view key) const {
    if (kind != Kind::object) return nullptr;
    for (const JsonMember& member : members) {
        if (member.name == key) return &member.value;
    }
    return nullptr;
}

JsonParseResult parse_json(std::string_view text, const JsonLimits& limits) {
    if (text.size() > limits.max_bytes) {
        return {std::nullopt, "JSON of " + std::to_string(text.size()) + " bytes is too large"};
    }
    try {
        return {Parser(text, limits).parse_document(), {}};
    } catch (const JsonSyntaxError& error) {
        return {std::nullopt, error.message + " at byte " + std::to_string(error.offset)};
    }
}

std::optional<uint64_t> json_to_uint64(const JsonValue& value) {
    return to_integer<uint64_t>(value);
}

std::optional<int64_t> json_to_int64(const JsonValue& value) {
    return to_integer<int64_t>(value);
}

}  // namespace cgihost::chat_client
