#include "http/http_message.hpp"

#include <algorithm>

namespace cgihost {
namespace {

char to_lower_ascii(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

bool equals_ignore_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return to_lower_ascii(x) == to_lower_ascii(y);
           });
}

bool is_http_token(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

bool is_control_byte(char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
}

bool is_valid_field_value(std::string_view value) {
    return std::none_of(value.begin(), value.end(),
                        [](char c) { return is_control_byte(c) && c != '\t'; });
}

bool is_valid_request_target(std::string_view target) {
    return !target.empty() && std::none_of(target.begin(), target.end(),
                                           [](char c) { return c == ' ' || is_control_byte(c); });
}

const std::string* find_header(const HeaderList& headers, std::string_view name) {
    for (const auto& [key, value] : headers) {
        if (equals_ignore_case(key, name)) return &value;
    }
    return nullptr;
}

size_t count_headers(const HeaderList& headers, std::string_view name) {
    size_t count = 0;
    for (const auto& header : headers)
        count += equals_ignore_case(header.first, name) ? 1 : 0;
    return count;
}

}  // namespace cgihost
