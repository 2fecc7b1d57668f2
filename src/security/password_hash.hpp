// The password hashes of htpasswd files: which schemes we accept, and checking a password
// against one with libxcrypt. Accepted are the slow, salted schemes Apache's htpasswd writes
// (-B bcrypt) and glibc's SHA-crypt (`openssl passwd -5/-6`, `mkpasswd`); refused are the fast
// or unsalted ones an offline attacker breaks cheaply: plaintext, DES crypt, MD5 ($1$, $apr1$)
// and {SHA}.
#pragma once

#include <string>
#include <string_view>

namespace cgihost {

struct PasswordScheme {
    bool accepted = false;
    std::string_view name;  // "bcrypt", "SHA-512-crypt", "Apache MD5 ($apr1$)", ...
};

// Looks at the shape of `hash` only (its prefix and length); never at the password.
PasswordScheme identify_password_hash(std::string_view hash);

// Whether `password` hashes to `hash` (an accepted scheme). Costs what the scheme costs: a
// bcrypt of cost 10 takes tens of milliseconds, so never call this on an event loop.
bool verify_password(std::string_view password, const std::string& hash);

}  // namespace cgihost
