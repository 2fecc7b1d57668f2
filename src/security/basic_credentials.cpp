#include "security/basic_credentials.hpp"

#include "http/http_message.hpp"

namespace cgihost {
namespace {

constexpr int kInvalid = -1;

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return kInvalid;
}

bool has_control_byte(std::string_view text) {
    for (char c : text) {
        if (is_control_byte(c)) return true;
    }
    return false;
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    size_t padding = 0;
    while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=')
        ++padding;
    std::string_view symbols = text.substr(0, text.size() - padding);
    std::string out;
    uint32_t bits = 0;
    int bit_count = 0;
    for (char c : symbols) {
        const int value = base64_value(c);
        if (value == kInvalid) return std::nullopt;  // '=' in the middle lands here too
        bits = (bits << 6) | static_cast<uint32_t>(value);
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            out.push_back(static_cast<char>((bits >> bit_count) & 0xff));
        }
    }
    // What is left must be zero bits, fewer than a byte (RFC 4648 §3.5: canonical encoding).
    if ((bits & ((1u << bit_count) - 1)) != 0) return std::nullopt;
    return out;
}

std::optional<BasicCredentials> parse_basic_authorization(std::string_view value) {
    constexpr std::string_view kScheme = "Basic";
    if (value.size() <= kScheme.size() || !equals_ignore_case(value.substr(0, 5), kScheme) ||
        value[kScheme.size()] != ' ') {
        return std::nullopt;
    }
    value.remove_prefix(kScheme.size());
    value.remove_prefix(std::min(value.size(), value.find_first_not_of(' ')));
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
    auto decoded = decode_base64(value);
    if (!decoded || has_control_byte(*decoded)) return std::nullopt;
    const size_t colon = decoded->find(':');
    if (colon == std::string::npos) return std::nullopt;
    return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

std::string make_basic_challenge(std::string_view realm) {
    std::string challenge = "Basic realm=\"";
    for (char c : realm) {
        if (c == '"' || c == '\\') challenge += '\\';
        challenge += c;
    }
    challenge += "\", charset=\"UTF-8\"";
    return challenge;
}

}  // namespace cgihost
