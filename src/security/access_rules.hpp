// --allow PREFIX=CIDR[,CIDR…]: which client addresses may use a part of the site. Pure.
// Addresses are compared as 128-bit IPv6 values with IPv4 in its mapped form (::ffff:a.b.c.d),
// so a client that reaches an IPv6 socket with a v4-mapped address meets the IPv4 rules.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cgihost {

using IpAddress = std::array<uint8_t, 16>;

// "10.1.2.3", "::1", "::ffff:10.1.2.3" (the same address as "10.1.2.3"); nullopt otherwise.
std::optional<IpAddress> parse_ip_address(std::string_view text);

struct AddressRange {
    IpAddress network{};  // host bits cleared
    unsigned prefix_length = 128;

    bool contains(const IpAddress& address) const;
};

// "10.0.0.0/8", "192.168.1.7" (a /32), "fd00::/8", "::1" (a /128). Host bits beyond the
// prefix are ignored ("10.1.2.3/8" is 10.0.0.0/8). nullopt when malformed.
std::optional<AddressRange> parse_address_range(std::string_view text);

struct AccessRule {
    std::string prefix;  // normalised (path_prefix.hpp)
    std::vector<AddressRange> allowed;
};

// "PREFIX=CIDR[,CIDR…]" → the rule, or an error message naming what is wrong.
std::variant<AccessRule, std::string> parse_access_rule(std::string_view text);

// The rule with the longest prefix covering `path` decides; with none, everyone may pass. An
// address that does not parse (it never should) is refused wherever a rule applies.
bool is_address_allowed(const std::vector<AccessRule>& rules, std::string_view path,
                        std::string_view remote_addr);

}  // namespace cgihost
