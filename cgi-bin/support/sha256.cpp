#include "sha256.hpp"

#include <bit>
#include <cstring>

namespace samples {
namespace {

// §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes.
constexpr std::array<uint32_t, 64> kRoundConstants = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// §4.1.2, the six logical functions.
constexpr uint32_t choose(uint32_t x, uint32_t y, uint32_t z) {
    return (x & y) ^ (~x & z);
}
constexpr uint32_t majority(uint32_t x, uint32_t y, uint32_t z) {
    return (x & y) ^ (x & z) ^ (y & z);
}
constexpr uint32_t big_sigma0(uint32_t x) {
    return std::rotr(x, 2) ^ std::rotr(x, 13) ^ std::rotr(x, 22);
}
constexpr uint32_t big_sigma1(uint32_t x) {
    return std::rotr(x, 6) ^ std::rotr(x, 11) ^ std::rotr(x, 25);
}
constexpr uint32_t small_sigma0(uint32_t x) {
    return std::rotr(x, 7) ^ std::rotr(x, 18) ^ (x >> 3);
}
constexpr uint32_t small_sigma1(uint32_t x) {
    return std::rotr(x, 17) ^ std::rotr(x, 19) ^ (x >> 10);
}

// SHA-256 reads its words big-endian whatever the machine's byte order (§3.1).
uint32_t load_big_endian(const uint8_t* bytes) {
    return uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 | uint32_t{bytes[2]} << 8 |
           uint32_t{bytes[3]};
}

}  // namespace

void Sha256::update(std::string_view bytes) {
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    size_t size = bytes.size();
    message_bytes_ += size;
    if (pending_size_ > 0) {
        size_t take = std::min(size, pending_.size() - pending_size_);
        std::memcpy(pending_.data() + pending_size_, data, take);
        pending_size_ += take;
        data += take;
        size -= take;
        if (pending_size_ < pending_.size()) return;
        process_block(pending_.data());
        pending_size_ = 0;
    }
    // Whole blocks straight from the caller's buffer: no copy for the bulk of a large file.
    for (; size >= 64; data += 64, size -= 64) {
        process_block(data);
    }
    std::memcpy(pending_.data(), data, size);
    pending_size_ = size;
}

std::string Sha256::hex_digest() {
    // §5.1.1: a 1 bit, zeros up to 448 bits mod 512, then the length in bits as 64 bits.
    const uint64_t message_bits = message_bytes_ * 8;
    std::array<uint8_t, 72> padding{};
    padding[0] = 0x80;
    size_t zeros_to = pending_size_ < 56 ? 56 : 120;
    size_t padding_size = zeros_to - pending_size_;
    for (int i = 0; i < 8; ++i) {
        padding[padding_size + i] = static_cast<uint8_t>(message_bits >> (56 - 8 * i));
    }
    update(std::string_view(reinterpret_cast<const char*>(padding.data()), padding_size + 8));

    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (uint32_t word : hash_) {
        for (int shift = 28; shift >= 0; shift -= 4) {
            hex += kHex[(word >> shift) & 0xf];
        }
    }
    return hex;
}

void Sha256::process_block(const uint8_t* block) {
    // §6.2.2 step 1: the message schedule.
    std::array<uint32_t, 64> schedule;
    for (size_t t = 0; t < 16; ++t) {
        schedule[t] = load_big_endian(block + 4 * t);
    }
    for (size_t t = 16; t < 64; ++t) {
        schedule[t] = small_sigma1(schedule[t - 2]) + schedule[t - 7] +
                      small_sigma0(schedule[t - 15]) + schedule[t - 16];
    }
    // Steps 2-4: 64 rounds over the working variables a..h.
    auto [a, b, c, d, e, f, g, h] = hash_;
    for (size_t t = 0; t < 64; ++t) {
        uint32_t t1 = h + big_sigma1(e) + choose(e, f, g) + kRoundConstants[t] + schedule[t];
        uint32_t t2 = big_sigma0(a) + majority(a, b, c);
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    // Step 5: the intermediate hash value H(i).
    const std::array<uint32_t, 8> working = {a, b, c, d, e, f, g, h};
    for (size_t i = 0; i < 8; ++i) {
        hash_[i] += working[i];
    }
}

}  // namespace samples
