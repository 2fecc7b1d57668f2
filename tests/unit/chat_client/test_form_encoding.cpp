#include "chat_client/form_encoding.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cgihost::chat_client {
namespace {

TEST(EncodeFormComponent, KeepsUnreservedBytesAndEncodesTheRest) {
    const struct {
        std::string in;
        const char* out;
    } cases[] = {
        {"", ""},
        {"AZaz09-._*", "AZaz09-._*"},
        {"a b", "a+b"},
        {"a+b", "a%2Bb"},
        {"a&b=c%d", "a%26b%3Dc%25d"},
        {"line\r\nnext", "line%0D%0Anext"},
        {"\xC3\xA9", "%C3%A9"},
        {std::string("a\0b", 3), "a%00b"},
        {"~!'()", "%7E%21%27%28%29"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(encode_form_component(c.in), c.out) << c.in;
    }
}

TEST(EncodeForm, JoinsFieldsWithAmpersands) {
    EXPECT_EQ(encode_form({{"nick", "alice"}, {"message", "hi & bye"}}),
              "nick=alice&message=hi+%26+bye");
    EXPECT_EQ(encode_form({}), "");
}

TEST(EncodeFormComponent, EveryByteRoundTripsThroughAFormDecoder) {
    std::string all;
    for (int c = 0; c < 256; ++c)
        all += static_cast<char>(c);
    std::string encoded = encode_form_component(all);
    std::string decoded;
    for (size_t i = 0; i < encoded.size(); ++i) {
        if (encoded[i] == '+') {
            decoded += ' ';
        } else if (encoded[i] == '%') {
            decoded += static_cast<char>(std::stoi(encoded.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            decoded += encoded[i];
        }
    }
    EXPECT_EQ(decoded, all);
}

}  // namespace
}  // namespace cgihost::chat_client
