#include "http_message.hpp"

#include <strings.h>

namespace cgihost {

bool equals_ignore_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
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
