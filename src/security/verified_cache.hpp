// A short memory of passwords that just verified, so that a burst of requests from one
// logged-in browser costs one bcrypt, not one per request. Thread-safe; time is passed in.
//
// Nothing of a password is kept: an entry is HMAC-SHA256 under a key drawn at startup of the
// user, the password and the stored hash together. A changed hash thus never meets an old
// entry, and a memory dump gives an attacker no cheaper guess than the htpasswd file does.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace cgihost {

struct VerifiedCacheLimits {
    double lifetime = 60;    // seconds an entry stays good
    size_t capacity = 1024;  // entries; beyond it the oldest goes
};

class VerifiedCache {
  public:
    explicit VerifiedCache(VerifiedCacheLimits limits = {});

    // Whether this user, password and stored hash verified within the lifetime before `now`.
    bool contains(std::string_view user, std::string_view password, std::string_view hash,
                  double now);
    // Remembers a successful verification at `now`.
    void insert(std::string_view user, std::string_view password, std::string_view hash,
                double now);
    size_t size() const;

  private:
    using Digest = std::array<uint8_t, 32>;
    struct DigestHash {
        size_t operator()(const Digest& digest) const;
    };
    Digest digest_of(std::string_view user, std::string_view password, std::string_view hash) const;
    void make_room(double now);

    VerifiedCacheLimits limits_;
    std::array<uint8_t, 32> key_{};
    mutable std::mutex mutex_;
    std::unordered_map<Digest, double, DigestHash> expiry_;  // digest → when it lapses
};

}  // namespace cgihost
