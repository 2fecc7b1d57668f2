#include "http/url_codec.hpp"

#include <gtest/gtest.h>

namespace cgihost {
namespace {

TEST(PercentDecode, DecodesEscapesInEitherCase) {
    EXPECT_EQ(percent_decode("a%20b%2fc%2Fd"), "a b/c/d");
}

TEST(PercentDecode, LeavesPlusAlone) {
    EXPECT_EQ(percent_decode("a+b"), "a+b");
}

TEST(PercentDecode, RejectsTruncatedOrNonHexEscapes) {
    for (const char* bad : {"%", "%2", "abc%", "%zz", "%2g", "x%g1"}) {
        EXPECT_FALSE(percent_decode(bad).has_value()) << bad;
    }
}

TEST(PercentDecode, DecodesNulSoCallersCanRejectIt) {
    auto decoded = percent_decode("a%00b");
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, std::string("a\0b", 3));
}

TEST(FormDecode, TurnsPlusIntoSpaceAndKeepsBadEscapes) {
    EXPECT_EQ(form_decode("first+name=J%C3%B6rg%zz%"), "first name=J\xc3\xb6rg%zz%");
}

TEST(PercentEncodePathSegment, EncodesSlashSpaceAndControlBytes) {
    EXPECT_EQ(percent_encode_path_segment("a b/c?d#e%\x01"), "a%20b%2Fc%3Fd%23e%25%01");
}

TEST(PercentEncodePathSegment, KeepsUnreservedCharacters) {
    EXPECT_EQ(percent_encode_path_segment("Az09-._~"), "Az09-._~");
}

TEST(PercentEncodePathSegment, RoundTripsThroughDecode) {
    std::string all;
    for (int c = 0; c < 256; ++c)
        all += static_cast<char>(c);
    EXPECT_EQ(percent_decode(percent_encode_path_segment(all)), all);
}

}  // namespace
}  // namespace cgihost
