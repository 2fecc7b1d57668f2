#include "security/access_rules.hpp"

#include <arpa/inet.h>

#include <charconv>

#include "security/path_prefix.hpp"

namespace cgihost {
namespace {

constexpr unsigned kIpv4MappedPrefix = 96;  // ::ffff:0:0/96 (RFC 4291 §2.5.5.2)
constexpr IpAddress kIpv4MappedBase{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};

bool is_ipv4_text(std::string_view text) {
    return text.find(':') == std::string_view::npos;
}

std::optional<unsigned> parse_prefix_length(std::string_view text, unsigned max) {
    unsigned value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || value > max) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

std::optional<IpAddress> parse_ip_address(std::string_view text) {
    std::string copy(text);
    IpAddress address{};
    if (is_ipv4_text(text)) {
        address = kIpv4MappedBase;
        if (::inet_pton(AF_INET, copy.c_str(), address.data() + 12) != 1) return std::nullopt;
        return address;
    }
    if (::inet_pton(AF_INET6, copy.c_str(), address.data()) != 1) return std::nullopt;
    return address;
}

bool AddressRange::contains(const IpAddress& address) const {
    for (unsigned bit = 0; bit < prefix_length; bit += 8) {
        const unsigned byte = bit / 8;
        const unsigned bits = std::min(8u, prefix_length - bit);
        const auto mask = static_cast<uint8_t>(0xff00u >> bits);
        if ((address[byte] & mask) != network[byte]) return false;
    }
    return true;
}

std::optional<AddressRange> parse_address_range(std::string_view text) {
    const size_t slash = text.find('/');
    std::string_view host = text.substr(0, slash);
    auto address = parse_ip_address(host);
    if (!address) return std::nullopt;
    const bool v4 = is_ipv4_text(host);
    AddressRange range;
    range.prefix_length = 128;
    if (slash != std::string_view::npos) {
        auto length = parse_prefix_length(text.substr(slash + 1), v4 ? 32 : 128);
        if (!length) return std::nullopt;
        range.prefix_length = v4 ? *length + kIpv4MappedPrefix : *length;
    }
    for (unsigned bit = 0; bit < 128; bit += 8) {
        const unsigned kept =
            range.prefix_length > bit ? std::min(8u, range.prefix_length - bit) : 0;
        (*address)[bit / 8] &= static_cast<uint8_t>(0xff00u >> kept);
    }
    range.network = *address;
    return range;
}

std::variant<AccessRule, std::string> parse_access_rule(std::string_view text) {
    const size_t equals = text.find('=');
    if (equals == std::string_view::npos) return "'" + std::string(text) + "' is not PREFIX=CIDR";
    AccessRule rule;
    auto prefix = normalize_rule_prefix(text.substr(0, equals));
    if (!prefix) return "'" + std::string(text.substr(0, equals)) + "' is not a URL path";
    rule.prefix = *prefix;
    std::string_view list = text.substr(equals + 1);
    while (true) {
        const size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        auto range = parse_address_range(item);
        if (!range) return "'" + std::string(item) + "' is not an IP address or CIDR range";
        rule.allowed.push_back(*range);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return rule;
}

bool is_address_allowed(const std::vector<AccessRule>& rules, std::string_view path,
                        std::string_view remote_addr) {
    const AccessRule* rule = find_longest_prefix(rules, path);
    if (rule == nullptr) return true;
    auto address = parse_ip_address(remote_addr);
    if (!address) return false;
    for (const AddressRange& range : rule->allowed) {
        if (range.contains(*address)) return true;
    }
    return false;
}

}  // namespace cgihost
