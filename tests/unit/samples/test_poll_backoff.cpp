// The schedule chat's long poll follows when inotify cannot wake it (cgi-bin/support).
#include "poll_backoff.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

TEST(PollBackoff, StartsAt150MillisecondsAndDoublesUpTo4800) {
    std::vector<int> schedule;
    for (int attempt = 0; attempt < 8; ++attempt) {
        schedule.push_back(samples::poll_backoff_milliseconds(attempt));
    }
    EXPECT_EQ(schedule, (std::vector<int>{150, 300, 600, 1200, 2400, 4800, 4800, 4800}));
}

TEST(PollBackoff, StaysAtItsLongestHoweverManyAttempts) {
    EXPECT_EQ(samples::poll_backoff_milliseconds(40), 4800);
    EXPECT_EQ(samples::poll_backoff_milliseconds(1'000'000), 4800);
}

// A 25 s wait (the default) looks 10 times instead of about 166.
TEST(PollBackoff, ADefaultWaitLooksAFewTimesNotEvery150Milliseconds) {
    int looks = 0;
    for (int waited = 0; waited < 25'000; ++looks) {
        waited += samples::poll_backoff_milliseconds(looks);
    }
    EXPECT_LE(looks, 10);
}

static_assert(samples::poll_backoff_milliseconds(0) == samples::kFirstPollMilliseconds);

}  // namespace
