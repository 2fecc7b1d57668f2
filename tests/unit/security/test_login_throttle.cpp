#include "security/login_throttle.hpp"

#include <gtest/gtest.h>

namespace cgihost {
namespace {

LoginThrottleLimits limits(unsigned max_failures, double window, double max_delay,
                           size_t max_clients = 4096) {
    return {max_failures, window, max_delay, max_clients};
}

TEST(LoginThrottle, TheFirstTwoFailuresCostNothingThenTheDelayDoublesUpToItsCap) {
    LoginThrottle throttle(limits(100, 600, 4));
    std::vector<double> delays;
    for (int i = 0; i < 8; ++i)
        delays.push_back(throttle.record_failure("10.0.0.1", 0));
    EXPECT_EQ(delays, (std::vector<double>{0, 0, 0.5, 1, 2, 4, 4, 4}));
}

TEST(LoginThrottle, NoDelayWhenItsCapIsZero) {
    LoginThrottle throttle(limits(100, 600, 0));
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(throttle.record_failure("10.0.0.1", 0), 0);
}

TEST(LoginThrottle, BlocksAClientOnceItReachesMaxFailuresUntilTheWindowEnds) {
    LoginThrottle throttle(limits(3, 600, 0));
    for (int i = 0; i < 2; ++i)
        (void)throttle.record_failure("10.0.0.1", 100);
    EXPECT_FALSE(throttle.blocked_for("10.0.0.1", 100));
    (void)throttle.record_failure("10.0.0.1", 150);
    ASSERT_TRUE(throttle.blocked_for("10.0.0.1", 200));
    EXPECT_DOUBLE_EQ(*throttle.blocked_for("10.0.0.1", 200), 500);  // the window began at 100
    EXPECT_FALSE(throttle.blocked_for("10.0.0.1", 700));
}

TEST(LoginThrottle, CountsEachClientOnItsOwn) {
    LoginThrottle throttle(limits(2, 600, 0));
    (void)throttle.record_failure("10.0.0.1", 0);
    (void)throttle.record_failure("10.0.0.1", 0);
    EXPECT_TRUE(throttle.blocked_for("10.0.0.1", 1));
    EXPECT_FALSE(throttle.blocked_for("10.0.0.2", 1));
}

TEST(LoginThrottle, StartsAfreshAfterTheWindow) {
    LoginThrottle throttle(limits(100, 60, 4));
    for (int i = 0; i < 4; ++i)
        (void)throttle.record_failure("10.0.0.1", 0);
    EXPECT_EQ(throttle.record_failure("10.0.0.1", 61), 0);
}

TEST(LoginThrottle, ZeroMaxFailuresNeverBlocks) {
    LoginThrottle throttle(limits(0, 600, 0));
    for (int i = 0; i < 50; ++i)
        (void)throttle.record_failure("10.0.0.1", 0);
    EXPECT_FALSE(throttle.blocked_for("10.0.0.1", 0));
}

TEST(LoginThrottle, TheTableNeverGrowsBeyondItsBound) {
    LoginThrottle throttle(limits(3, 600, 0, 100));
    for (int i = 0; i < 10000; ++i)
        (void)throttle.record_failure("client-" + std::to_string(i), i * 0.001);
    EXPECT_EQ(throttle.size(), 100u);
}

TEST(LoginThrottle, WhenFullItForgetsTheClientThatFailedLeastRecently) {
    LoginThrottle throttle(limits(2, 600, 0, 2));
    (void)throttle.record_failure("old", 0);
    (void)throttle.record_failure("old", 1);
    (void)throttle.record_failure("recent", 2);
    (void)throttle.record_failure("recent", 3);
    (void)throttle.record_failure("new", 4);
    EXPECT_FALSE(throttle.blocked_for("old", 5));
    EXPECT_TRUE(throttle.blocked_for("recent", 5));
}

TEST(LoginThrottle, WhenFullItDropsLapsedEntriesFirst) {
    LoginThrottle throttle(limits(2, 10, 0, 2));
    (void)throttle.record_failure("lapsed", 0);
    (void)throttle.record_failure("active", 20);
    (void)throttle.record_failure("active", 21);
    (void)throttle.record_failure("new", 22);
    EXPECT_TRUE(throttle.blocked_for("active", 22));
    EXPECT_EQ(throttle.size(), 2u);
}

TEST(ThrottleKey, KeepsIpv4AddressesAndTheirV4MappedForm) {
    EXPECT_EQ(throttle_key("10.1.2.3"), "10.1.2.3");
    EXPECT_EQ(throttle_key("::ffff:10.1.2.3"), "10.1.2.3");
}

TEST(ThrottleKey, CountsIpv6ClientsPerSlash64) {
    EXPECT_EQ(throttle_key("2001:db8:1:2::1"), throttle_key("2001:db8:1:2:ffff::9"));
    EXPECT_NE(throttle_key("2001:db8:1:2::1"), throttle_key("2001:db8:1:3::1"));
}

}  // namespace
}  // namespace cgihost
