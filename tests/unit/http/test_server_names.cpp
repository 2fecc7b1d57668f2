#include "http/server_names.hpp"

#include <gtest/gtest.h>

namespace cgihost {
namespace {

TEST(ParseServerName, AcceptsNamesAndAddressesLowerCased) {
    EXPECT_EQ(parse_server_name("Example.ORG", false), "example.org");
    EXPECT_EQ(parse_server_name("www_1.example-site.org", false), "www_1.example-site.org");
    EXPECT_EQ(parse_server_name("localhost", false), "localhost");
    EXPECT_EQ(parse_server_name("192.0.2.7", false), "192.0.2.7");
    EXPECT_EQ(parse_server_name("[2001:DB8::1]", false), "[2001:db8::1]");
    EXPECT_EQ(parse_server_name("*.Example.org", true), "*.example.org");
}

TEST(ParseServerName, RefusesWhatIsNotABareHost) {
    for (const char* text : {"", "example.org:8080", "https://example.org", "example.org/", "a b",
                             ".example.org", "example.org.", "a..b", "[::1", "[]", "[example]",
                             "*.example.org", "exa*mple.org", "ex\x01.org"}) {
        EXPECT_EQ(parse_server_name(text, false), std::nullopt) << text;
    }
    for (const char* text : {"*", "*.", "**.example.org", "a.*.example.org", "*example.org"}) {
        EXPECT_EQ(parse_server_name(text, true), std::nullopt) << text;
    }
    EXPECT_EQ(parse_server_name(std::string(254, 'a'), false), std::nullopt);
    EXPECT_EQ(parse_server_name(std::string(253, 'a'), false), std::string(253, 'a'));
}

TEST(IsOwnServerName, MatchesTheNameAndAliasesWithWildcardsOnLabelBoundaries) {
    ServerNames names{"example.org", {"www.example.org", "*.example.net"}};
    EXPECT_TRUE(is_own_server_name(names, "example.org"));
    EXPECT_TRUE(is_own_server_name(names, "www.example.org"));
    EXPECT_TRUE(is_own_server_name(names, "a.example.net"));
    EXPECT_TRUE(is_own_server_name(names, "a.b.example.net"));
    for (const char* host : {"", "evil.example", "example.net", "evilexample.net",
                             "www.example.org.evil", "sub.example.org", "xexample.org"}) {
        EXPECT_FALSE(is_own_server_name(names, host)) << host;
    }
}

TEST(ChooseServerName, BelievesTheHostOnlyWithoutACanonicalName) {
    ServerNames open;
    EXPECT_EQ(choose_server_name(open, "evil.example", "192.0.2.1"), "evil.example");
    EXPECT_EQ(choose_server_name(open, std::nullopt, "192.0.2.1"), "192.0.2.1");
    EXPECT_EQ(choose_server_name(open, std::string(), "[::1]"), "[::1]");

    ServerNames canonical{"example.org", {"www.example.org"}};
    EXPECT_EQ(choose_server_name(canonical, "evil.example", "192.0.2.1"), "example.org");
    EXPECT_EQ(choose_server_name(canonical, "192.0.2.1", "192.0.2.1"), "example.org");
    EXPECT_EQ(choose_server_name(canonical, std::nullopt, "192.0.2.1"), "example.org");
    EXPECT_EQ(choose_server_name(canonical, "www.example.org", "192.0.2.1"), "www.example.org");
    EXPECT_EQ(choose_server_name(canonical, "example.org", "192.0.2.1"), "example.org");
}

}  // namespace
}  // namespace cgihost
