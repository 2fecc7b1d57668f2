#include "security/password_verifier.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace cgihost {
namespace {

const std::string kSha256 = "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA";

// Collects verdicts from the verifier's threads.
struct Verdicts {
    std::mutex mutex;
    std::condition_variable arrived;
    std::vector<bool> matched;

    PasswordVerifier::Done collector() {
        return [this](PasswordVerdict verdict) {
            std::lock_guard lock(mutex);
            matched.push_back(verdict.matched);
            arrived.notify_all();
        };
    }
    bool wait_for(size_t count) {
        std::unique_lock lock(mutex);
        return arrived.wait_for(lock, std::chrono::seconds(60),
                                [&] { return matched.size() >= count; });
    }
};

TEST(PasswordVerifier, ChecksPasswordsOnItsThreadsAndReportsEachVerdict) {
    PasswordVerifier verifier(2, 10);
    Verdicts verdicts;
    ASSERT_TRUE(verifier.submit("secret", kSha256, verdicts.collector()));
    ASSERT_TRUE(verdicts.wait_for(1));
    ASSERT_TRUE(verifier.submit("wrong", kSha256, verdicts.collector()));
    ASSERT_TRUE(verdicts.wait_for(2));
    EXPECT_EQ(verdicts.matched, (std::vector<bool>{true, false}));
    EXPECT_EQ(verifier.verifications(), 2u);
}

// Holds the verifier's only thread in a job until release(), so that tests can queue behind it.
struct BlockedThread {
    std::mutex gate;
    std::unique_lock<std::mutex> hold{gate};
    std::mutex mutex;
    std::condition_variable cv;
    bool started = false;

    PasswordVerifier::Done job() {
        return [this](PasswordVerdict) {
            {
                std::lock_guard lock(mutex);
                started = true;
            }
            cv.notify_all();
            std::lock_guard wait_here(gate);
        };
    }
    bool wait_started() {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, std::chrono::seconds(60), [&] { return started; });
    }
    void release() { hold.unlock(); }
};

TEST(PasswordVerifier, TheSamePasswordAskedAgainJoinsTheCheckUnderWay) {
    PasswordVerifier verifier(1, 1);
    BlockedThread blocked;
    ASSERT_TRUE(verifier.submit("other", kSha256, blocked.job()));
    ASSERT_TRUE(blocked.wait_started());
    Verdicts verdicts;
    std::vector<bool> shared;
    std::mutex shared_mutex;
    auto collect = [&](PasswordVerdict verdict) {
        {
            std::lock_guard lock(shared_mutex);
            shared.push_back(verdict.shared);
        }
        verdicts.collector()(verdict);
    };
    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(verifier.submit("secret", kSha256, collect)) << i;  // a queue of one
    EXPECT_FALSE(verifier.submit("different", kSha256, collect));
    blocked.release();
    ASSERT_TRUE(verdicts.wait_for(3));
    EXPECT_EQ(verdicts.matched, (std::vector<bool>{true, true, true}));
    EXPECT_EQ(shared, (std::vector<bool>{false, true, true}));
    EXPECT_EQ(verifier.verifications(), 2u);  // the blocker's and one for the three
}

TEST(PasswordVerifier, RefusesWorkBeyondItsQueue) {
    std::mutex gate;
    std::unique_lock hold(gate);  // the one thread blocks in its first job until released
    std::mutex started_mutex;
    std::condition_variable started_cv;
    bool started = false;
    PasswordVerifier verifier(1, 2);
    ASSERT_TRUE(verifier.submit("secret", kSha256, [&](PasswordVerdict) {
        {
            std::lock_guard lock(started_mutex);
            started = true;
        }
        started_cv.notify_all();
        std::lock_guard wait_here(gate);
    }));
    {
        std::unique_lock lock(started_mutex);
        ASSERT_TRUE(started_cv.wait_for(lock, std::chrono::seconds(60), [&] { return started; }));
    }
    EXPECT_TRUE(verifier.submit("a", kSha256, [](PasswordVerdict) {}));
    EXPECT_TRUE(verifier.submit("b", kSha256, [](PasswordVerdict) {}));
    EXPECT_FALSE(verifier.submit("c", kSha256, [](PasswordVerdict) {}));
    hold.unlock();
}

}  // namespace
}  // namespace cgihost
