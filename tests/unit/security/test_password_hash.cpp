#include "security/password_hash.hpp"

#include <gtest/gtest.h>

namespace cgihost {
namespace {

// Made with `htpasswd -nbB -C 4 alice secret` and `openssl passwd -5/-6 -salt saltsalt secret`.
const std::string kBcrypt = "$2y$04$RtkyRHp49awhu56IrQdku.ylbXXX0ruRK3L0nKR6KplOSaa49bEre";
const std::string kSha512 =
    "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq."
    "H91p5hVO1";
const std::string kSha256 = "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA";

TEST(IdentifyPasswordHash, AcceptsBcryptAndShaCrypt) {
    EXPECT_EQ(identify_password_hash(kBcrypt).name, "bcrypt");
    EXPECT_TRUE(identify_password_hash(kBcrypt).accepted);
    EXPECT_TRUE(identify_password_hash("$2b$" + kBcrypt.substr(4)).accepted);
    EXPECT_TRUE(identify_password_hash("$2a$" + kBcrypt.substr(4)).accepted);
    EXPECT_EQ(identify_password_hash(kSha512).name, "SHA-512-crypt");
    EXPECT_TRUE(identify_password_hash(kSha512).accepted);
    EXPECT_EQ(identify_password_hash(kSha256).name, "SHA-256-crypt");
    EXPECT_TRUE(identify_password_hash(kSha256).accepted);
}

TEST(IdentifyPasswordHash, RefusesWeakSchemesAndSaysWhich) {
    EXPECT_FALSE(identify_password_hash("$apr1$pq.kKdFl$No6SKlSnWJ7liRRe6/IZM0").accepted);
    EXPECT_EQ(identify_password_hash("$apr1$pq.kKdFl$No6SKlSnWJ7liRRe6/IZM0").name,
              "Apache MD5 ($apr1$)");
    EXPECT_EQ(identify_password_hash("{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=").name,
              "unsalted SHA-1 ({SHA})");
    EXPECT_EQ(identify_password_hash("7kGxGZwxygzVs").name, "DES crypt");
    EXPECT_EQ(identify_password_hash("secret").name, "plaintext or an unknown scheme");
    EXPECT_FALSE(identify_password_hash("$1$abc$def").accepted);
}

TEST(IdentifyPasswordHash, RefusesATruncatedBcryptHash) {
    EXPECT_FALSE(identify_password_hash(kBcrypt.substr(0, 59)).accepted);
}

TEST(VerifyPassword, AcceptsTheRightPasswordForEachScheme) {
    EXPECT_TRUE(verify_password("secret", kBcrypt));
    EXPECT_TRUE(verify_password("secret", kSha512));
    EXPECT_TRUE(verify_password("secret", kSha256));
}

TEST(VerifyPassword, RefusesAWrongPassword) {
    for (const std::string& hash : {kBcrypt, kSha512, kSha256}) {
        EXPECT_FALSE(verify_password("Secret", hash)) << hash;
        EXPECT_FALSE(verify_password("", hash)) << hash;
        EXPECT_FALSE(verify_password("secret ", hash)) << hash;
    }
}

TEST(VerifyPassword, NeverAcceptsARefusedScheme) {
    EXPECT_FALSE(verify_password("secret", "secret"));
    EXPECT_FALSE(verify_password("secret", "7kGxGZwxygzVs"));
    EXPECT_FALSE(verify_password("secret", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="));
}

}  // namespace
}  // namespace cgihost
