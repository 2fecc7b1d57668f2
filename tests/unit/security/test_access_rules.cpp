#include "security/access_rules.hpp"

#include <gtest/gtest.h>

namespace cgihost {
namespace {

AddressRange range(const char* text) {
    auto parsed = parse_address_range(text);
    EXPECT_TRUE(parsed) << text;
    return parsed.value_or(AddressRange{});
}

IpAddress address(const char* text) {
    auto parsed = parse_ip_address(text);
    EXPECT_TRUE(parsed) << text;
    return parsed.value_or(IpAddress{});
}

AccessRule rule(const char* text) {
    auto parsed = parse_access_rule(text);
    EXPECT_TRUE(std::holds_alternative<AccessRule>(parsed)) << text;
    return std::holds_alternative<AccessRule>(parsed) ? std::get<AccessRule>(parsed) : AccessRule{};
}

TEST(ParseIpAddress, ReadsIpv4AndIpv6) {
    EXPECT_TRUE(parse_ip_address("10.1.2.3"));
    EXPECT_TRUE(parse_ip_address("::1"));
    EXPECT_TRUE(parse_ip_address("2001:db8::7"));
}

TEST(ParseIpAddress, TreatsAV4MappedIpv6AddressAsTheIpv4Address) {
    EXPECT_EQ(address("::ffff:10.1.2.3"), address("10.1.2.3"));
}

TEST(ParseIpAddress, RefusesWhatIsNotAnAddress) {
    for (const char* text : {"", "10.1.2", "10.1.2.256", "host", "::1%lo", "1.2.3.4 "}) {
        EXPECT_FALSE(parse_ip_address(text)) << text;
    }
}

TEST(AddressRange, AnIpv4RangeContainsItsAddressesOnly) {
    AddressRange ten = range("10.0.0.0/8");
    EXPECT_TRUE(ten.contains(address("10.0.0.0")));
    EXPECT_TRUE(ten.contains(address("10.255.255.255")));
    EXPECT_FALSE(ten.contains(address("11.0.0.0")));
    EXPECT_FALSE(ten.contains(address("9.255.255.255")));
}

TEST(AddressRange, PrefixLengthsNeedNotBeWholeBytes) {
    AddressRange r = range("192.168.4.0/22");
    EXPECT_TRUE(r.contains(address("192.168.7.255")));
    EXPECT_FALSE(r.contains(address("192.168.8.0")));
    EXPECT_FALSE(r.contains(address("192.168.3.255")));
}

TEST(AddressRange, APlainAddressIsARangeOfOne) {
    EXPECT_TRUE(range("127.0.0.1").contains(address("127.0.0.1")));
    EXPECT_FALSE(range("127.0.0.1").contains(address("127.0.0.2")));
    EXPECT_TRUE(range("::1").contains(address("::1")));
    EXPECT_FALSE(range("::1").contains(address("::2")));
}

TEST(AddressRange, Ipv6RangesWork) {
    AddressRange r = range("fd00::/8");
    EXPECT_TRUE(r.contains(address("fd12:3456::1")));
    EXPECT_FALSE(r.contains(address("fe80::1")));
}

TEST(AddressRange, AnIpv4RuleCoversTheV4MappedFormOfItsAddresses) {
    EXPECT_TRUE(range("10.0.0.0/8").contains(address("::ffff:10.9.8.7")));
    EXPECT_TRUE(range("::ffff:10.0.0.0/104").contains(address("10.9.8.7")));
}

TEST(AddressRange, AnIpv4RuleDoesNotCoverIpv6Addresses) {
    EXPECT_FALSE(range("0.0.0.0/0").contains(address("::1")));
    EXPECT_TRUE(range("0.0.0.0/0").contains(address("203.0.113.9")));
    EXPECT_TRUE(range("::/0").contains(address("203.0.113.9")));
}

TEST(AddressRange, HostBitsBeyondThePrefixAreIgnored) {
    EXPECT_TRUE(range("10.1.2.3/8").contains(address("10.200.0.1")));
}

TEST(ParseAddressRange, RefusesMalformedRanges) {
    for (const char* text : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/8/8",
                             "/8", "10.0.0.0/-1", "10.0.0.0/+8", "fd00::/ 8"}) {
        EXPECT_FALSE(parse_address_range(text)) << text;
    }
}

TEST(ParseAccessRule, ReadsAPrefixAndACommaSeparatedList) {
    AccessRule r = rule("/admin/=10.0.0.0/8,::1");
    EXPECT_EQ(r.prefix, "/admin");
    EXPECT_EQ(r.allowed.size(), 2u);
}

TEST(ParseAccessRule, RefusesABadPrefixOrAddress) {
    for (const char* text : {"/admin", "admin=10.0.0.0/8", "/admin=", "/admin=10.0.0.0/8,",
                             "/admin=10.0.0.0/40", "/admin=localhost"}) {
        EXPECT_TRUE(std::holds_alternative<std::string>(parse_access_rule(text))) << text;
    }
}

TEST(IsAddressAllowed, EveryoneMayPassWhereNoRuleApplies) {
    std::vector<AccessRule> rules{rule("/admin=10.0.0.0/8")};
    EXPECT_TRUE(is_address_allowed(rules, "/public", "203.0.113.9"));
    EXPECT_TRUE(is_address_allowed(rules, "/administrator", "203.0.113.9"));
}

TEST(IsAddressAllowed, OnlyListedClientsMayUseACoveredPath) {
    std::vector<AccessRule> rules{rule("/admin=10.0.0.0/8")};
    EXPECT_TRUE(is_address_allowed(rules, "/admin/x", "10.1.1.1"));
    EXPECT_TRUE(is_address_allowed(rules, "/admin/x", "::ffff:10.1.1.1"));
    EXPECT_FALSE(is_address_allowed(rules, "/admin/x", "127.0.0.1"));
    EXPECT_FALSE(is_address_allowed(rules, "/admin", "::1"));
}

TEST(IsAddressAllowed, TheLongestPrefixDecides) {
    std::vector<AccessRule> rules{rule("/=127.0.0.1"), rule("/open=0.0.0.0/0,::/0")};
    EXPECT_FALSE(is_address_allowed(rules, "/x", "10.1.1.1"));
    EXPECT_TRUE(is_address_allowed(rules, "/open/x", "10.1.1.1"));
}

TEST(IsAddressAllowed, AnUnreadableAddressIsRefusedWhereARuleApplies) {
    std::vector<AccessRule> rules{rule("/admin=0.0.0.0/0")};
    EXPECT_FALSE(is_address_allowed(rules, "/admin", "not-an-address"));
}

}  // namespace
}  // namespace cgihost
