// Slows down password guessing from one client. Each wrong password of a client makes its next
// 401 come later (0, 0, 0.5 s, 1 s, 2 s … up to max_delay), and once it has failed
// max_failures times within `window` seconds of its first failure, it gets 429 with
// Retry-After until that window ends. Successes do not wipe the count: a client that knows one
// password must not reset its counter while guessing another's.
//
// The table is bounded: at max_clients, lapsed entries go, then the one that failed least
// recently. IPv6 clients count per /64, since one host commonly holds a whole /64. Pure but
// for its lock: time is passed in.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cgihost {

struct LoginThrottleLimits {
    unsigned max_failures = 10;  // within the window; then 429. 0 = never block
    double window = 600;         // seconds, from a client's first counted failure
    double max_delay = 4;        // seconds; the cap of the growing delay. 0 = no delay
    size_t max_clients = 4096;   // entries in the table
};

// What a client's failures are counted under: the address itself for IPv4 (and v4-mapped
// IPv6), its /64 for IPv6.
std::string throttle_key(std::string_view remote_addr);

class LoginThrottle {
  public:
    explicit LoginThrottle(LoginThrottleLimits limits = {}) : limits_(limits) {}

    // Before checking a password: nullopt, or the seconds until `client` may try again.
    std::optional<double> blocked_for(const std::string& client, double now);
    // After a wrong password (or an unknown user): the seconds to wait before the 401.
    double record_failure(const std::string& client, double now);
    size_t size() const;

  private:
    struct Entry {
        unsigned failures = 0;
        double window_start = 0;
        double last_failure = 0;
    };
    void make_room(double now);

    LoginThrottleLimits limits_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> clients_;
};

}  // namespace cgihost
