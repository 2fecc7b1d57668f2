#include "security/verified_cache.hpp"

#include <gtest/gtest.h>

namespace cgihost {
namespace {

TEST(VerifiedCache, RemembersASuccessForItsLifetime) {
    VerifiedCache cache({.lifetime = 60, .capacity = 10});
    EXPECT_FALSE(cache.contains("alice", "secret", "$2y$hash", 0));
    cache.insert("alice", "secret", "$2y$hash", 0);
    EXPECT_TRUE(cache.contains("alice", "secret", "$2y$hash", 59.9));
    EXPECT_FALSE(cache.contains("alice", "secret", "$2y$hash", 60));
}

TEST(VerifiedCache, AnotherPasswordUserOrStoredHashIsNotRemembered) {
    VerifiedCache cache({.lifetime = 60, .capacity = 10});
    cache.insert("alice", "secret", "$2y$hash", 0);
    EXPECT_FALSE(cache.contains("alice", "secret2", "$2y$hash", 1));
    EXPECT_FALSE(cache.contains("bob", "secret", "$2y$hash", 1));
    EXPECT_FALSE(cache.contains("alice", "secret", "$2y$changed", 1));
}

TEST(VerifiedCache, FieldBoundariesMatter) {
    VerifiedCache cache({.lifetime = 60, .capacity = 10});
    cache.insert("ab", "c", "h", 0);
    EXPECT_FALSE(cache.contains("a", "bc", "h", 1));
}

TEST(VerifiedCache, StaysWithinItsCapacityDroppingTheOldest) {
    VerifiedCache cache({.lifetime = 60, .capacity = 3});
    for (int i = 0; i < 4; ++i)
        cache.insert("user" + std::to_string(i), "pw", "h", i);
    EXPECT_EQ(cache.size(), 3u);
    EXPECT_FALSE(cache.contains("user0", "pw", "h", 5));
    EXPECT_TRUE(cache.contains("user3", "pw", "h", 5));
}

TEST(VerifiedCache, ZeroCapacityRemembersNothing) {
    VerifiedCache cache({.lifetime = 60, .capacity = 0});
    cache.insert("alice", "secret", "h", 0);
    EXPECT_FALSE(cache.contains("alice", "secret", "h", 0));
}

TEST(VerifiedCache, TwoCachesDrawDifferentKeysYetEachRemembersItsOwn) {
    VerifiedCache first;
    VerifiedCache second;
    first.insert("alice", "secret", "h", 0);
    EXPECT_TRUE(first.contains("alice", "secret", "h", 1));
    EXPECT_FALSE(second.contains("alice", "secret", "h", 1));
}

}  // namespace
}  // namespace cgihost
