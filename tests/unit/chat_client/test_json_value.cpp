#include "chat_client/json_value.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cgihost::chat_client {
namespace {

using Kind = JsonValue::Kind;

std::string string_of(std::string_view json) {
    JsonParseResult parsed = parse_json(json);
    EXPECT_TRUE(parsed.value.has_value()) << json << ": " << parsed.error;
    if (!parsed.value) return {};
    EXPECT_EQ(parsed.value->kind, Kind::string) << json;
    return parsed.value->text;
}

TEST(ParseJson, ReadsEveryKindOfValue) {
    JsonParseResult parsed =
        parse_json(R"( {"a":[1,-2.5e3,true,false,null],"b":{"c":"d"},"e":""} )");
    ASSERT_TRUE(parsed.value) << parsed.error;
    const JsonValue& root = *parsed.value;
    ASSERT_EQ(root.kind, Kind::object);
    const JsonValue* a = root.find("a");
    ASSERT_NE(a, nullptr);
    ASSERT_EQ(a->items.size(), 5u);
    EXPECT_EQ(a->items[0].text, "1");
    EXPECT_EQ(a->items[1].text, "-2.5e3");
    EXPECT_TRUE(a->items[2].boolean);
    EXPECT_EQ(a->items[3].kind, Kind::boolean);
    EXPECT_EQ(a->items[4].kind, Kind::null);
    EXPECT_EQ(root.find("b")->find("c")->text, "d");
    EXPECT_EQ(root.find("e")->text, "");
    EXPECT_EQ(root.find("missing"), nullptr);
}

TEST(ParseJson, DecodesEscapes) {
    const struct {
        const char* json;
        std::string text;
    } cases[] = {
        {R"("\" \\ \/ \b \f \n \r \t")", "\" \\ / \b \f \n \r \t"},
        {R"("\u0041\u00e9\u20AC")", "A\xC3\xA9\xE2\x82\xAC"},
        {R"("\ud83d\ude00")", "\xF0\x9F\x98\x80"},  // a surrogate pair: U+1F600
        {R"("\u001b[31m")", "\x1b[31m"},            // decoded; the terminal layer strips it
        {R"("\u0000")", std::string(1, '\0')},
        {"\"caf\xC3\xA9 \xF0\x9F\x98\x80\"", "caf\xC3\xA9 \xF0\x9F\x98\x80"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(string_of(c.json), c.text) << c.json;
    }
}

TEST(ParseJson, RefusesMalformedDocumentsWithAReason) {
    const char* bad[] = {
        "",
        "   ",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "{\"a\":1}x",
        "{\"a\":1}{}",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "+1",
        "NaN",
        "tru",
        "nul",
        "'a'",
        "\"a",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12g4\"",
        "\"\\ud83d\"",         // a high surrogate alone
        "\"\\ud83d\\u0041\"",  // followed by something else
        "\"\\ude00\"",         // a low surrogate alone
        "\"a\tb\"",            // raw control byte
        "\"a\nb\"",
        "\"\xC3\"",              // truncated UTF-8
        "\"\xC0\x80\"",          // overlong NUL
        "\"\xED\xA0\x80\"",      // an encoded surrogate
        "\"\xF4\x90\x80\x80\"",  // above U+10FFFF
        "\"\xFF\"",
        "{\"a\":1,\"a\":2}",  // duplicate member
        "\xEF\xBB\xBF{}",     // a byte order mark
    };
    for (const char* json : bad) {
        JsonParseResult parsed = parse_json(json);
        EXPECT_FALSE(parsed.value) << json;
        EXPECT_FALSE(parsed.error.empty()) << json;
    }
}

TEST(ParseJson, EveryTruncationOfAValidDocumentIsRefused) {
    const std::string json =
        R"({"messages":[{"id":1,"time":2,"nick":"\u00e9","text":"a\nb"}],"last_id":1})";
    ASSERT_TRUE(parse_json(json).value);
    for (size_t length = 0; length < json.size(); ++length) {
        EXPECT_FALSE(parse_json(json.substr(0, length)).value) << json.substr(0, length);
    }
}

TEST(ParseJson, LimitsDepthAndSize) {
    std::string deep(33, '[');
    deep += std::string(33, ']');
    EXPECT_FALSE(parse_json(deep).value);
    std::string fine(32, '[');
    fine += std::string(32, ']');
    EXPECT_TRUE(parse_json(fine).value);
    std::string very_deep(1'000'000, '[');  // must not overflow the stack
    EXPECT_FALSE(parse_json(very_deep).value);
    JsonLimits small;
    small.max_bytes = 8;
    EXPECT_FALSE(parse_json("\"123456789\"", small).value);
}

TEST(JsonToInteger, AcceptsOnlyPlainIntegersInRange) {
    auto number = [](const char* text) { return *parse_json(text).value; };
    EXPECT_EQ(json_to_uint64(number("0")), 0u);
    EXPECT_EQ(json_to_uint64(number("18446744073709551615")), UINT64_MAX);
    EXPECT_FALSE(json_to_uint64(number("18446744073709551616")));
    EXPECT_FALSE(json_to_uint64(number("-1")));
    EXPECT_FALSE(json_to_uint64(number("1.0")));
    EXPECT_FALSE(json_to_uint64(number("1e2")));
    EXPECT_FALSE(json_to_uint64(number("\"1\"")));
    EXPECT_EQ(json_to_int64(number("-5")), -5);
    EXPECT_FALSE(json_to_int64(number("9223372036854775808")));
}

}  // namespace
}  // namespace cgihost::chat_client
