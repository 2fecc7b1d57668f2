#include "security/verified_cache.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace cgihost {
namespace {

// Each field is preceded by its length, so ("ab", "c") and ("a", "bc") never share a digest.
void append_field(std::string& message, std::string_view field) {
    const uint64_t length = field.size();
    message.append(reinterpret_cast<const char*>(&length), sizeof length);
    message.append(field);
}

}  // namespace

VerifiedCache::VerifiedCache(VerifiedCacheLimits limits) : limits_(limits) {
    if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1) {
        throw std::runtime_error("cannot draw a key for the password cache");
    }
}

size_t VerifiedCache::DigestHash::operator()(const Digest& digest) const {
    size_t value = 0;
    std::memcpy(&value, digest.data(), sizeof value);  // a keyed digest: already uniform
    return value;
}

VerifiedCache::Digest VerifiedCache::digest_of(std::string_view user, std::string_view password,
                                               std::string_view hash) const {
    std::string message;
    append_field(message, user);
    append_field(message, password);
    append_field(message, hash);
    Digest digest{};
    unsigned int length = 0;
    (void)HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
               reinterpret_cast<const unsigned char*>(message.data()), message.size(),
               digest.data(), &length);
    OPENSSL_cleanse(message.data(), message.size());
    return digest;
}

bool VerifiedCache::contains(std::string_view user, std::string_view password,
                             std::string_view hash, double now) {
    const Digest digest = digest_of(user, password, hash);
    std::lock_guard lock(mutex_);
    auto it = expiry_.find(digest);
    if (it == expiry_.end()) return false;
    if (now < it->second) return true;
    expiry_.erase(it);
    return false;
}

void VerifiedCache::insert(std::string_view user, std::string_view password, std::string_view hash,
                           double now) {
    if (limits_.capacity == 0) return;
    const Digest digest = digest_of(user, password, hash);
    std::lock_guard lock(mutex_);
    if (!expiry_.contains(digest)) make_room(now);
    expiry_[digest] = now + limits_.lifetime;
}

// Drops lapsed entries; if none had lapsed, the one closest to lapsing. O(capacity), paid
// only when full and only after a successful verification, which costs far more.
void VerifiedCache::make_room(double now) {
    if (expiry_.size() < limits_.capacity) return;
    std::erase_if(expiry_, [now](const auto& entry) { return entry.second <= now; });
    if (expiry_.size() < limits_.capacity) return;
    auto oldest = expiry_.begin();
    for (auto it = expiry_.begin(); it != expiry_.end(); ++it) {
        if (it->second < oldest->second) oldest = it;
    }
    expiry_.erase(oldest);
}

size_t VerifiedCache::size() const {
    std::lock_guard lock(mutex_);
    return expiry_.size();
}

}  // namespace cgihost
