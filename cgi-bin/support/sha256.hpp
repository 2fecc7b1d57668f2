// SHA-256 as FIPS 180-4 defines it, fed in pieces so a sample can hash a file while it writes
// it. Written here rather than taken from a crypto library to keep the samples' dependencies
// to cgicc alone. upload shows it as a checksum; cookies builds its HMAC (RFC 2104) on it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace samples {

class Sha256 {
  public:
    void update(std::string_view bytes);
    // Pads the message (FIPS 180-4 §5.1.1) and returns the digest as 64 lower-case hex digits.
    // The object is spent afterwards.
    std::string hex_digest();

  private:
    void process_block(const uint8_t* block);  // §6.2.2, one 512-bit block

    // §5.3.3: the initial hash value H(0).
    std::array<uint32_t, 8> hash_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::array<uint8_t, 64> pending_{};  // the start of a block not yet complete
    size_t pending_size_ = 0;
    uint64_t message_bytes_ = 0;
};

}  // namespace samples
