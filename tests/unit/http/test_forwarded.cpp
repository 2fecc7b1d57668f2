#include "http/forwarded.hpp"

#include <gtest/gtest.h>

namespace cgihost {
namespace {

using namespace std::string_literals;

std::vector<AddressRange> trusted(std::vector<std::string> values) {
    std::string error;
    auto ranges = parse_trusted_proxies(values, &error);
    EXPECT_TRUE(ranges) << error;
    return ranges.value_or(std::vector<AddressRange>{});
}

const std::vector<AddressRange> kProxies = trusted({"10.0.0.0/8,fd00::/8"});

ForwardedClient client_of(HeaderList headers, const char* peer = "10.0.0.1") {
    return find_forwarded_client(headers, peer, kProxies);
}

std::string address_of(HeaderList headers, const char* peer = "10.0.0.1") {
    return client_of(std::move(headers), peer).address.value_or("(peer)");
}

TEST(ForwardedClient, AnUntrustedPeerIsNeverBelieved) {
    ForwardedClient client = client_of(
        {{"X-Forwarded-For", "203.0.113.9"}, {"X-Forwarded-Proto", "https"}}, "192.0.2.1");
    EXPECT_FALSE(client.address);
    EXPECT_FALSE(client.https);
    EXPECT_TRUE(client.problem.empty());
}

TEST(ForwardedClient, NoTrustedProxiesMeansNoOneIsBelieved) {
    HeaderList headers{{"X-Forwarded-For", "203.0.113.9"}};
    EXPECT_FALSE(find_forwarded_client(headers, "10.0.0.1", {}).address);
}

TEST(ForwardedClient, TakesTheRightMostAddressThatIsNotATrustedProxy) {
    EXPECT_EQ(address_of({{"X-Forwarded-For", "203.0.113.9"}}), "203.0.113.9");
    // The client wrote "1.1.1.1" itself; the proxies appended the rest.
    EXPECT_EQ(address_of({{"X-Forwarded-For", "1.1.1.1, 203.0.113.9, 10.0.0.7"}}), "203.0.113.9");
    EXPECT_EQ(address_of({{"X-Forwarded-For", "1.1.1.1"}, {"X-Forwarded-For", "203.0.113.9"}}),
              "203.0.113.9");
}

TEST(ForwardedClient, NeverReadsWhatLiesLeftOfTheClient) {
    // Junk the client sent itself cannot make its address fall back to the proxy's.
    EXPECT_EQ(address_of({{"X-Forwarded-For", "junk\", not an address, 203.0.113.9"}}),
              "203.0.113.9");
    EXPECT_EQ(address_of({{"Forwarded", "for=\"unterminated, for=203.0.113.9"}}), "203.0.113.9");
}

TEST(ForwardedClient, WhenEveryHopIsTrustedTheLeftMostIsTheClient) {
    EXPECT_EQ(address_of({{"X-Forwarded-For", "10.9.9.9, 10.0.0.7"}}), "10.9.9.9");
}

TEST(ForwardedClient, ReadsXForwardedForWithPortsAndIpv6) {
    EXPECT_EQ(address_of({{"X-Forwarded-For", "203.0.113.9:4711"}}), "203.0.113.9");
    EXPECT_EQ(address_of({{"X-Forwarded-For", "2001:db8::1"}}), "2001:db8::1");
    EXPECT_EQ(address_of({{"X-Forwarded-For", "[2001:DB8::1]:443"}}), "2001:db8::1");
    EXPECT_EQ(address_of({{"X-Forwarded-For", "::ffff:203.0.113.9"}}), "203.0.113.9");
}

TEST(ForwardedClient, ReadsRfc7239ForWithQuotedIpv6AndPorts) {
    ForwardedClient client = client_of({{"Forwarded", "for=\"[2001:db8:cafe::17]:4711\""}});
    EXPECT_EQ(client.address, "2001:db8:cafe::17");
    EXPECT_EQ(client.port, 4711);
    EXPECT_EQ(address_of({{"Forwarded", "For=192.0.2.60;proto=http;by=203.0.113.43"}}),
              "192.0.2.60");
    EXPECT_EQ(address_of({{"Forwarded", "for=192.0.2.43, for=198.51.100.17"}}), "198.51.100.17");
    EXPECT_EQ(address_of({{"Forwarded", "for=192.0.2.43, for=\"[fd00::3]\""}}), "192.0.2.43");
}

TEST(ForwardedClient, PrefersForwardedOverXForwardedFor) {
    EXPECT_EQ(address_of({{"X-Forwarded-For", "198.51.100.1"}, {"Forwarded", "for=192.0.2.1"}}),
              "192.0.2.1");
}

TEST(ForwardedClient, TheSchemeComesWithTheClientsHop) {
    EXPECT_EQ(client_of({{"Forwarded", "for=192.0.2.1;proto=https"}}).https, true);
    EXPECT_EQ(
        client_of({{"Forwarded", "for=192.0.2.1;proto=http, for=10.0.0.2;proto=https"}}).https,
        false);
    EXPECT_EQ(client_of({{"X-Forwarded-For", "192.0.2.1"}, {"X-Forwarded-Proto", "HTTPS"}}).https,
              true);
    EXPECT_EQ(client_of({{"X-Forwarded-Proto", "http"}}).https, false);
}

TEST(ForwardedClient, AnUnknownOrObfuscatedClientKeepsThePeer) {
    for (const char* value :
         {"for=unknown", "for=_hidden", "for=\"_gazonk:_port\"", "for=unknown, for=10.0.0.3"}) {
        ForwardedClient client = client_of({{"Forwarded", value}});
        EXPECT_FALSE(client.address) << value;
        EXPECT_FALSE(client.problem.empty()) << value;
    }
}

TEST(ForwardedClient, MalformedHeadersKeepThePeerAndSayWhy) {
    for (const char* value :
         {"for=[2001:db8::1]", "for=\"2001:db8::1\"", "for=192.0.2.1;for=192.0.2.2",
          "for=192.0.2.1 ;proto=http", "for=192.0.2.1:99999", "for=\"192.0.2.1", "proto=https",
          "for=", "for=192.0.2.256", "for=\"[1.2.3.4]\"", "for=\"[::1]x\""}) {
        ForwardedClient client = client_of({{"Forwarded", value}});
        EXPECT_FALSE(client.address) << value;
        EXPECT_FALSE(client.problem.empty()) << value;
    }
    for (std::string value :
         {"a.b.c.d"s, "203.0.113.9:"s, "203.0.113.9:x"s, "[::1"s, "192.0.2.1\0junk"s}) {
        ForwardedClient client = client_of({{"X-Forwarded-For", value}});
        EXPECT_FALSE(client.address) << value;
        EXPECT_FALSE(client.problem.empty()) << value;
    }
    ForwardedClient scheme =
        client_of({{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Proto", "http"}});
    EXPECT_FALSE(scheme.https);
    EXPECT_FALSE(scheme.problem.empty());
}

TEST(ForwardedClient, BoundsTheWalk) {
    std::string hops;
    for (size_t i = 0; i <= kMaxForwardedHops; ++i)
        hops += (i > 0 ? ", " : "") + std::string("10.0.0.9");
    EXPECT_FALSE(client_of({{"X-Forwarded-For", hops}}).address);
    EXPECT_FALSE(
        client_of({{"X-Forwarded-For", std::string(kMaxForwardedElementBytes, '1') + ", 10.0.0.9"}})
            .address);
}

// What the client wrote itself, however long, cannot hide it behind the proxy: the proxy's
// own entry on the right is read, and the junk left of it never is.
TEST(ForwardedClient, LongClientJunkLeftOfTheProxysEntryIsNeverRead) {
    const std::string junk(12 * 1024, 'x');
    EXPECT_EQ(address_of({{"X-Forwarded-For", junk + ", 192.0.2.1"}}), "192.0.2.1");
    EXPECT_EQ(address_of({{"X-Forwarded-For", junk}, {"X-Forwarded-For", "192.0.2.1"}}),
              "192.0.2.1");
    EXPECT_EQ(address_of({{"Forwarded", "for=\"" + junk + "\", for=192.0.2.1"}}), "192.0.2.1");
}

TEST(ForwardedClient, UnescapesQuotedPairs) {
    EXPECT_EQ(address_of({{"Forwarded", "for=\"192.0.2.1\";x=\"a\\\"b,c\""}}), "192.0.2.1");
}

TEST(ParseTrustedProxies, AcceptsListsAndRefusesJunk) {
    std::string error;
    auto ranges = parse_trusted_proxies({"127.0.0.1, 10.0.0.0/8", "::1"}, &error);
    ASSERT_TRUE(ranges);
    EXPECT_EQ(ranges->size(), 3u);
    EXPECT_FALSE(parse_trusted_proxies({"10.0.0.0/33"}, &error));
    EXPECT_NE(error.find("10.0.0.0/33"), std::string::npos);
    EXPECT_FALSE(parse_trusted_proxies({"10.0.0.1,"}, &error));
}

}  // namespace
}  // namespace cgihost
