#include "security/password_hash.hpp"

#include <crypt.h>

#include <memory>

namespace cgihost {
namespace {

// bcrypt: "$2y$" cost "$" then 53 characters of salt and hash.
constexpr size_t kBcryptLength = 60;
// Traditional DES crypt: 13 characters of [./0-9A-Za-z].
constexpr size_t kDesCryptLength = 13;

bool is_crypt_alphabet(std::string_view text) {
    for (char c : text) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '/';
        if (!ok) return false;
    }
    return true;
}

// Compares all of both strings whatever they hold, so the time taken says nothing of where
// they differ.
bool equal_in_constant_time(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    unsigned char difference = 0;
    for (size_t i = 0; i < a.size(); ++i)
        difference |= static_cast<unsigned char>(a[i] ^ b[i]);
    return difference == 0;
}

}  // namespace

PasswordScheme identify_password_hash(std::string_view hash) {
    if (hash.starts_with("$2y$") || hash.starts_with("$2b$") || hash.starts_with("$2a$")) {
        return {hash.size() == kBcryptLength, "bcrypt"};
    }
    if (hash.starts_with("$6$")) return {hash.size() > 4, "SHA-512-crypt"};
    if (hash.starts_with("$5$")) return {hash.size() > 4, "SHA-256-crypt"};
    if (hash.starts_with("$apr1$")) return {false, "Apache MD5 ($apr1$)"};
    if (hash.starts_with("$1$")) return {false, "MD5-crypt ($1$)"};
    if (hash.starts_with("{SHA}")) return {false, "unsalted SHA-1 ({SHA})"};
    if (hash.size() == kDesCryptLength && is_crypt_alphabet(hash)) return {false, "DES crypt"};
    return {false, "plaintext or an unknown scheme"};
}

bool verify_password(std::string_view password, const std::string& hash) {
    if (!identify_password_hash(hash).accepted) return false;
    // crypt_data is some 32 KiB: too big for a thread's stack, so on the heap.
    auto data = std::make_unique<crypt_data>();
    const std::string phrase(password);
    const char* computed = ::crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof *data);
    // libxcrypt answers failure with NULL or with a string starting with '*', never a hash.
    if (computed == nullptr || computed[0] == '*') return false;
    return equal_in_constant_time(computed, hash);
}

}  // namespace cgihost
