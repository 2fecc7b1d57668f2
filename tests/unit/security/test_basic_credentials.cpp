#include "security/basic_credentials.hpp"

#include <gtest/gtest.h>

namespace cgihost {
namespace {

TEST(DecodeBase64, DecodesPaddedText) {
    EXPECT_EQ(decode_base64("YWxpY2U6c2VjcmV0"), "alice:secret");
    EXPECT_EQ(decode_base64("YQ=="), "a");
    EXPECT_EQ(decode_base64("YWI="), "ab");
    EXPECT_EQ(decode_base64(""), "");
}

TEST(DecodeBase64, RefusesAnythingNotStrictBase64) {
    for (const char* text :
         {"YQ", "YQ=", "Y===", "YW=I", "YWxp Y2U=", "YWxpY2U-", "YR==", "=YWI"}) {
        EXPECT_FALSE(decode_base64(text)) << text;
    }
}

TEST(ParseBasicAuthorization, SplitsUserAndPasswordAtTheFirstColon) {
    auto credentials = parse_basic_authorization("Basic dTpwYTpzcw==");  // u:pa:ss
    ASSERT_TRUE(credentials);
    EXPECT_EQ(credentials->user, "u");
    EXPECT_EQ(credentials->password, "pa:ss");
}

TEST(ParseBasicAuthorization, TakesTheSchemeInAnyCaseAndExtraSpaces) {
    auto credentials = parse_basic_authorization("bAsIc    YWxpY2U6c2VjcmV0");
    ASSERT_TRUE(credentials);
    EXPECT_EQ(credentials->user, "alice");
    EXPECT_EQ(credentials->password, "secret");
}

TEST(ParseBasicAuthorization, AllowsUtf8AndAnEmptyPassword) {
    auto credentials = parse_basic_authorization("Basic w7xuw686cGE6c3M=");  // ünï:pa:ss
    ASSERT_TRUE(credentials);
    EXPECT_EQ(credentials->user, "\xc3\xbcn\xc3\xaf");
    auto empty = parse_basic_authorization("Basic YWxpY2U6");  // alice:
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->password, "");
}

TEST(ParseBasicAuthorization, RefusesOtherSchemesAndMalformedCredentials) {
    for (const char* value :
         {"", "Basic", "Basic ", "Bearer YWxpY2U6c2VjcmV0", "BasicYWxpY2U6c2VjcmV0",
          "Basic YWxpY2U", /* no colon: "alice" */ "Basic YWxpY2U6c2VjcmV0!",
          "Basic\tYWxpY2U6c2VjcmV0", "Basic YWxp Y2U6c2VjcmV0", "Digest username=\"a\""}) {
        EXPECT_FALSE(parse_basic_authorization(value)) << value;
    }
}

TEST(ParseBasicAuthorization, RefusesControlCharactersInTheCredentials) {
    EXPECT_FALSE(parse_basic_authorization("Basic YQpiOmM="));  // "a\nb:c"
    EXPECT_FALSE(parse_basic_authorization("Basic YTpiAGM="));  // "a:b\0c"
}

TEST(MakeBasicChallenge, QuotesTheRealmAndNamesUtf8) {
    EXPECT_EQ(make_basic_challenge("cgihost"), "Basic realm=\"cgihost\", charset=\"UTF-8\"");
    EXPECT_EQ(make_basic_challenge("a \"b\" \\c"),
              "Basic realm=\"a \\\"b\\\" \\\\c\", charset=\"UTF-8\"");
}

}  // namespace
}  // namespace cgihost
