// How often a sample looks again when it cannot be woken (chat's long poll without inotify).
// A pure function, so the schedule is unit-tested apart from the program that sleeps on it.
#pragma once

namespace samples {

inline constexpr int kFirstPollMilliseconds = 150;
inline constexpr int kLongestPollMilliseconds = 4800;

// The wait before look number `attempt` (0 for the first): 150 ms, doubling each time, up to
// 4.8 s. Without a wake-up, a thousand waiting scripts that each look every 150 ms keep the
// CPU busy re-reading a file that has not changed; growing intervals cost a late message at
// most a few seconds instead.
constexpr int poll_backoff_milliseconds(int attempt) {
    int wait = kFirstPollMilliseconds;
    for (int i = 0; i < attempt && wait < kLongestPollMilliseconds; ++i) {
        wait *= 2;
    }
    return wait < kLongestPollMilliseconds ? wait : kLongestPollMilliseconds;
}

}  // namespace samples
