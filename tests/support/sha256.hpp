// SHA-256 (FIPS 180-4) for tests that check a large body arrived intact, without pulling in
// a crypto library. Not constant-time and not for anything but tests.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace cgihost::testing {

class Sha256 {
  public:
    void update(std::string_view data);
    // Pads the message (FIPS 180-4 §5.1.1) and returns the digest in lower-case hex. Call once.
    std::string finish_hex();

  private:
    void compress();  // one block of §6.2.2

    std::array<uint32_t, 8> state_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::array<uint8_t, 64> block_{};
    size_t block_size_ = 0;
    uint64_t total_bytes_ = 0;
};

// The digest of `data` in lower-case hex: sha256_hex("abc") == "ba7816bf...".
std::string sha256_hex(std::string_view data);

}  // namespace cgihost::testing
