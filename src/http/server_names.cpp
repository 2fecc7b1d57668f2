#include "http/server_names.hpp"

#include <algorithm>

namespace cgihost {
namespace {

constexpr size_t kMaxNameLength = 253;  // RFC 1035 §2.3.4, without the final dot

char to_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

bool is_ipv6_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
}

// Letters, digits, '-', '_' in labels separated by single dots; no empty label.
bool is_dns_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameLength) return false;
    if (!std::all_of(name.begin(), name.end(), is_name_char)) return false;
    return !name.starts_with('.') && !name.ends_with('.') && name.find("..") == name.npos;
}

}  // namespace

std::optional<std::string> parse_server_name(std::string_view text, bool allow_wildcard) {
    std::string name(text);
    std::transform(name.begin(), name.end(), name.begin(), to_lower);
    if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
        std::string_view literal = std::string_view(name).substr(1, name.size() - 2);
        if (literal.find(':') == literal.npos) return std::nullopt;
        if (!std::all_of(literal.begin(), literal.end(), is_ipv6_char)) return std::nullopt;
        return name;
    }
    std::string_view rest = name;
    if (allow_wildcard && rest.starts_with("*.")) rest.remove_prefix(2);
    if (!is_dns_name(rest)) return std::nullopt;
    return name;
}

bool is_own_server_name(const ServerNames& names, std::string_view host) {
    if (host.empty()) return false;
    if (host == names.canonical) return true;
    return std::any_of(names.aliases.begin(), names.aliases.end(), [&](const std::string& alias) {
        if (!alias.starts_with("*.")) return host == alias;
        std::string_view suffix = std::string_view(alias).substr(1);  // ".example.org"
        return host.size() > suffix.size() && host.ends_with(suffix);
    });
}

std::string choose_server_name(const ServerNames& names,
                               const std::optional<std::string>& requested_host,
                               std::string_view connection_host) {
    if (names.canonical.empty()) {
        if (requested_host && !requested_host->empty()) return *requested_host;
        return std::string(connection_host);
    }
    if (requested_host && is_own_server_name(names, *requested_host)) return *requested_host;
    return names.canonical;
}

}  // namespace cgihost
