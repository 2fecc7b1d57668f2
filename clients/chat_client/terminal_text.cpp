#include "chat_client/terminal_text.hpp"

#include <cstdint>

namespace cgihost::chat_client {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Decodes the UTF-8 sequence at text[at]: its code point and length, or length 0 when it is
// not well-formed (overlong, surrogate, beyond U+10FFFF, truncated).
struct CodePoint {
    char32_t value = 0;
    size_t length = 0;
};

CodePoint decode_utf8(std::string_view text, size_t at) {
    auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
    unsigned char lead = byte(at);
    if (lead < 0x80) return {lead, 1};
    size_t length = lead >= 0xC2 && lead <= 0xDF   ? 2
                    : lead >= 0xE0 && lead <= 0xEF ? 3
                    : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                   : 0;
    if (length == 0 || at + length > text.size()) return {};
    char32_t value = lead & (0x7F >> length);
    for (size_t i = 1; i < length; ++i) {
        if ((byte(at + i) & 0xC0) != 0x80) return {};
        value = (value << 6) | (byte(at + i) & 0x3F);
    }
    static constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (value < kSmallest[length] || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
        return {};
    }
    return {value, length};
}

// Format characters that reorder or hide what follows them on the line (Unicode's bidi
// controls, marks and invisibles): a nick holding U+202E shows the rest of the line reversed,
// so another participant could pass their words off as someone else's.
bool is_invisible_format(char32_t c) {
    return (c >= 0x200B && c <= 0x200F) ||  // zero-width space/joiners, LRM, RLM
           (c >= 0x2028 && c <= 0x202E) ||  // line/paragraph separators, embeddings, overrides
           (c >= 0x2060 && c <= 0x206F) ||  // word joiner, invisible operators, isolates
           c == 0x061C || c == 0xFEFF;      // Arabic letter mark, zero-width no-break space
}

bool is_control(char32_t c, bool keep_newlines) {
    if (c == '\t' || (keep_newlines && c == '\n')) return false;
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || is_invisible_format(c);
}

}  // namespace

std::string sanitize_for_terminal(std::string_view text, bool keep_newlines) {
    std::string clean;
    clean.reserve(text.size());
    for (size_t at = 0; at < text.size();) {
        CodePoint point = decode_utf8(text, at);
        if (point.length == 0) {
            clean += kReplacement;
            ++at;
            continue;
        }
        if (!is_control(point.value, keep_newlines)) clean.append(text.substr(at, point.length));
        at += point.length;
    }
    return clean;
}

std::string format_message_line(const ChatMessage& message, std::string_view clock) {
    std::string prefix = "[" + std::string(clock) + "] ";
    std::string line = prefix + sanitize_for_terminal(message.nick, false) + ": ";
    std::string text = sanitize_for_terminal(message.text, true);
    std::string indent(prefix.size() + 2, ' ');
    for (char c : text) {
        line += c;
        if (c == '\n') line += indent;
    }
    return line + '\n';
}

}  // namespace cgihost::chat_client
