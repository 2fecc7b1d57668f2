#include "security/path_prefix.hpp"

#include "files/target_resolver.hpp"

namespace cgihost {

std::optional<std::string> normalize_rule_prefix(std::string_view text) {
    auto normalized = normalize_url_path(text);
    if (!normalized) return std::nullopt;
    while (normalized->size() > 1 && normalized->back() == '/')
        normalized->pop_back();
    return normalized;
}

bool prefix_covers(std::string_view prefix, std::string_view path) {
    if (prefix == "/") return path.starts_with('/');
    if (!path.starts_with(prefix)) return false;
    return path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace cgihost
