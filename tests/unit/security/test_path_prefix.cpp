#include "security/path_prefix.hpp"

#include <gtest/gtest.h>

namespace cgihost {
namespace {

TEST(NormalizeRulePrefix, DropsTheTrailingSlashButKeepsTheRoot) {
    EXPECT_EQ(normalize_rule_prefix("/admin/"), "/admin");
    EXPECT_EQ(normalize_rule_prefix("/admin"), "/admin");
    EXPECT_EQ(normalize_rule_prefix("/"), "/");
}

TEST(NormalizeRulePrefix, DecodesAndNormalisesLikeARequestPath) {
    EXPECT_EQ(normalize_rule_prefix("/a/./b//c/../%64"), "/a/b/d");
}

TEST(NormalizeRulePrefix, RefusesWhatIsNotAUrlPath) {
    EXPECT_FALSE(normalize_rule_prefix("admin"));
    EXPECT_FALSE(normalize_rule_prefix(""));
    EXPECT_FALSE(normalize_rule_prefix("/../x"));
    EXPECT_FALSE(normalize_rule_prefix("/a%2fb"));
}

TEST(PrefixCovers, CoversThePrefixItselfAndWhatLiesBelowIt) {
    EXPECT_TRUE(prefix_covers("/admin", "/admin"));
    EXPECT_TRUE(prefix_covers("/admin", "/admin/"));
    EXPECT_TRUE(prefix_covers("/admin", "/admin/x/y"));
}

TEST(PrefixCovers, MatchesOnSegmentBoundariesOnly) {
    EXPECT_FALSE(prefix_covers("/admin", "/administrator"));
    EXPECT_FALSE(prefix_covers("/admin", "/adm"));
    EXPECT_FALSE(prefix_covers("/admin", "/"));
}

TEST(PrefixCovers, TheRootCoversEveryPath) {
    EXPECT_TRUE(prefix_covers("/", "/"));
    EXPECT_TRUE(prefix_covers("/", "/anything/at/all"));
}

struct Rule {
    std::string prefix;
    int id;
};

TEST(FindLongestPrefix, PicksTheLongestCoveringPrefixWhateverTheOrder) {
    std::vector<Rule> rules{{"/a/b", 2}, {"/", 0}, {"/a", 1}, {"/a/bc", 3}};
    EXPECT_EQ(find_longest_prefix(rules, "/a/b/c")->id, 2);
    EXPECT_EQ(find_longest_prefix(rules, "/a/bc")->id, 3);
    EXPECT_EQ(find_longest_prefix(rules, "/a/x")->id, 1);
    EXPECT_EQ(find_longest_prefix(rules, "/z")->id, 0);
}

TEST(FindLongestPrefix, FindsNothingWhenNoPrefixCovers) {
    std::vector<Rule> rules{{"/a", 1}};
    EXPECT_EQ(find_longest_prefix(rules, "/ab"), nullptr);
}

}  // namespace
}  // namespace cgihost
