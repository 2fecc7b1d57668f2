#include "security/htpasswd.hpp"

#include <gtest/gtest.h>

namespace cgihost {
namespace {

const std::string kBcrypt = "$2y$04$RtkyRHp49awhu56IrQdku.ylbXXX0ruRK3L0nKR6KplOSaa49bEre";
const std::string kSha256 = "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA";

Htpasswd parse_ok(const std::string& text) {
    auto parsed = parse_htpasswd(text, "site.htpasswd");
    if (auto* error = std::get_if<std::string>(&parsed)) ADD_FAILURE() << *error;
    return std::holds_alternative<Htpasswd>(parsed) ? std::get<Htpasswd>(parsed) : Htpasswd{};
}

std::string parse_error(const std::string& text) {
    auto parsed = parse_htpasswd(text, "site.htpasswd");
    EXPECT_TRUE(std::holds_alternative<std::string>(parsed)) << text;
    return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
}

TEST(ParseHtpasswd, ReadsUsersAndTheirHashes) {
    Htpasswd file = parse_ok("alice:" + kBcrypt + "\nbob:" + kSha256 + "\n");
    ASSERT_EQ(file.users.size(), 2u);
    EXPECT_EQ(file.users.at("alice"), kBcrypt);
    EXPECT_EQ(file.users.at("bob"), kSha256);
    EXPECT_TRUE(file.refused.empty());
}

TEST(ParseHtpasswd, IgnoresCommentsBlankLinesCarriageReturnsAndAMissingLastNewline) {
    Htpasswd file =
        parse_ok("# users\n\n   \n  # indented comment\r\nalice:" + kBcrypt + "\r\nbob:" + kSha256);
    EXPECT_EQ(file.users.size(), 2u);
    EXPECT_EQ(file.users.at("alice"), kBcrypt);
}

TEST(ParseHtpasswd, IgnoresFieldsAfterTheHashAsApacheDoes) {
    Htpasswd file = parse_ok("alice:" + kSha256 + ":Alice Liddell\n");
    EXPECT_EQ(file.users.at("alice"), kSha256);
}

TEST(ParseHtpasswd, RefusesWeakEntriesNamingTheUserAndLine) {
    Htpasswd file = parse_ok("alice:" + kBcrypt +
                             "\nbob:$apr1$pq.kKdFl$No6SKlSnWJ7liRRe6/IZM0\n"
                             "carol:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\ndave:7kGxGZwxygzVs\n"
                             "erin:secret\n");
    EXPECT_EQ(file.users.size(), 1u);
    ASSERT_EQ(file.refused.size(), 4u);
    EXPECT_NE(file.refused[0].find("site.htpasswd:2: user 'bob'"), std::string::npos);
    EXPECT_NE(file.refused[0].find("Apache MD5"), std::string::npos);
    EXPECT_NE(file.refused[1].find("user 'carol'"), std::string::npos);
    EXPECT_NE(file.refused[2].find("DES crypt"), std::string::npos);
    EXPECT_NE(file.refused[3].find("site.htpasswd:5: user 'erin'"), std::string::npos);
}

TEST(ParseHtpasswd, NamesTheLineOfAMalformedEntry) {
    EXPECT_EQ(parse_error("alice:" + kBcrypt + "\n# ok\nno colon here\n"),
              "site.htpasswd:3: not user:hash");
    EXPECT_EQ(parse_error(":" + kBcrypt + "\n"), "site.htpasswd:1: an empty user name or hash");
    EXPECT_EQ(parse_error("alice:\n"), "site.htpasswd:1: an empty user name or hash");
}

TEST(ParseHtpasswd, RefusesAUserNamedTwice) {
    EXPECT_EQ(parse_error("alice:" + kBcrypt + "\nalice:" + kSha256 + "\n"),
              "site.htpasswd:2: user 'alice' again");
}

TEST(ParseHtpasswd, RefusesControlCharacters) {
    EXPECT_EQ(parse_error("al\x01ice:" + kBcrypt + "\n"), "site.htpasswd:1: a control character");
}

TEST(ParseHtpasswd, AnEmptyFileHasNoUsers) {
    EXPECT_TRUE(parse_ok("").users.empty());
}

TEST(LoadHtpasswd, AMissingFileIsAnError) {
    auto loaded = load_htpasswd("/nonexistent/cgihost.htpasswd");
    ASSERT_TRUE(std::holds_alternative<std::string>(loaded));
    EXPECT_NE(std::get<std::string>(loaded).find("/nonexistent/cgihost.htpasswd"),
              std::string::npos);
}

}  // namespace
}  // namespace cgihost
