#include "security/auth_rules.hpp"

#include <gtest/gtest.h>

#include "test_server.hpp"

namespace cgihost {
namespace {

TEST(ParseAuthArea, ReadsAPrefixAndAFile) {
    auto area = parse_auth_area("/admin/=/etc/site.htpasswd");
    ASSERT_TRUE(std::holds_alternative<AuthArea>(area));
    EXPECT_EQ(std::get<AuthArea>(area).prefix, "/admin");
    EXPECT_EQ(std::get<AuthArea>(area).htpasswd_path, "/etc/site.htpasswd");
}

TEST(ParseAuthArea, RefusesASpecWithoutPrefixOrFile) {
    for (const char* text : {"/admin", "/admin=", "admin=/f", "=/f", "/../x=/f"}) {
        EXPECT_TRUE(std::holds_alternative<std::string>(parse_auth_area(text))) << text;
    }
}

TEST(LoadAuthAreas, ReadsEachFileAndWarnsOfRefusedEntries) {
    testing::TempDir dir;
    dir.write_file("a.htpasswd",
                   "alice:$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA\nbob:plain\n");
    std::vector<std::string> warnings;
    auto areas = load_auth_areas({"/a=" + dir.file("a.htpasswd")},
                                 [&](const std::string& line) { warnings.push_back(line); });
    ASSERT_TRUE(std::holds_alternative<std::vector<AuthArea>>(areas));
    EXPECT_EQ(std::get<std::vector<AuthArea>>(areas).at(0).users.users.size(), 1u);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("user 'bob'"), std::string::npos);
}

TEST(LoadAuthAreas, AMissingOrMalformedFileOrARepeatedPrefixIsAnError) {
    testing::TempDir dir;
    dir.write_file("bad.htpasswd", "no-colon\n");
    dir.write_file("ok.htpasswd", "");
    auto ignore = [](const std::string&) {};
    auto missing = load_auth_areas({"/a=" + dir.file("missing")}, ignore);
    auto malformed = load_auth_areas({"/a=" + dir.file("bad.htpasswd")}, ignore);
    auto twice = load_auth_areas(
        {"/a=" + dir.file("ok.htpasswd"), "/a/=" + dir.file("ok.htpasswd")}, ignore);
    ASSERT_TRUE(std::holds_alternative<std::string>(missing));
    ASSERT_TRUE(std::holds_alternative<std::string>(malformed));
    ASSERT_TRUE(std::holds_alternative<std::string>(twice));
    EXPECT_NE(std::get<std::string>(malformed).find("bad.htpasswd:1:"), std::string::npos);
}

TEST(FindAuthArea, TheLongestPrefixWins) {
    std::vector<AuthArea> areas(2);
    areas[0].prefix = "/a";
    areas[1].prefix = "/a/b";
    EXPECT_EQ(find_auth_area(areas, "/a/b/c"), &areas[1]);
    EXPECT_EQ(find_auth_area(areas, "/a/bc"), &areas[0]);
    EXPECT_EQ(find_auth_area(areas, "/ab"), nullptr);
}

}  // namespace
}  // namespace cgihost
