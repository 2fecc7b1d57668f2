#include "chat_client/terminal_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cgihost::chat_client {
namespace {

TEST(SanitizeForTerminal, DropsControlCharactersThatDriveATerminal) {
    const struct {
        std::string in;
        bool keep_newlines;
        std::string out;
    } cases[] = {
        {"plain text", false, "plain text"},
        {"\x1b[2J\x1b]0;owned\x07mallory", false, "[2J]0;ownedmallory"},
        {"a\rb\bc\x7f"
         "d",
         false, "abcd"},
        {"tab\there", false, "tab\there"},
        {"two\nlines", false, "twolines"},
        {"two\nlines", true, "two\nlines"},
        {std::string("nul\0byte", 8), true, "nulbyte"},
        {"csi\xC2\x9B"
         "31m",
         false, "csi31m"},                                // U+009B, the C1 CSI
        {"\xC2\x80\xC2\x9F\xC2\xA0", false, "\xC2\xA0"},  // C1 gone, NBSP kept
        // Bidi overrides, isolates and invisibles would reorder or hide the rest of the line.
        {"eve\xE2\x80\xAE:bob", false, "eve:bob"},  // U+202E
        {"a\xE2\x81\xA6"
         "b\xE2\x81\xA9"
         "c",
         false, "abc"},  // U+2066, U+2069
        {"a\xE2\x80\x8B"
         "b\xEF\xBB\xBF"
         "c\xE2\x80\xA8"
         "d",
         false, "abcd"},                                                  // ZWSP, BOM, LS
        {"caf\xC3\xA9 \xE2\x82\xAC", false, "caf\xC3\xA9 \xE2\x82\xAC"},  // é and € stay
        {"caf\xC3\xA9 \xF0\x9F\x98\x80", false, "caf\xC3\xA9 \xF0\x9F\x98\x80"},
        {"bad\xFF"
         "byte",
         false,
         "bad\xEF\xBF\xBD"
         "byte"},
        {"cut\xE2\x82", false, "cut\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xC0\x9B", false, "\xEF\xBF\xBD\xEF\xBF\xBD"},  // an overlong CSI stays harmless
    };
    for (const auto& c : cases) {
        EXPECT_EQ(sanitize_for_terminal(c.in, c.keep_newlines), c.out) << c.in;
    }
}

TEST(SanitizeForTerminal, LeavesNoControlByteWhateverTheInput) {
    std::string all;
    for (int c = 0; c < 256; ++c)
        all += static_cast<char>(c);
    std::string clean = sanitize_for_terminal(all + all, false);
    for (size_t i = 0; i < clean.size(); ++i) {
        auto byte = static_cast<unsigned char>(clean[i]);
        EXPECT_TRUE(byte >= 0x20 || byte == '\t') << "at " << i;
        EXPECT_NE(byte, 0x7F);
        if (byte == 0xC2 && i + 1 < clean.size()) {
            EXPECT_GE(static_cast<unsigned char>(clean[i + 1]), 0xA0) << "C1 at " << i;
        }
    }
}

TEST(FormatMessageLine, ShowsClockNickAndText) {
    EXPECT_EQ(format_message_line({1, 0, "alice", "hello"}, "09:05"), "[09:05] alice: hello\n");
}

TEST(FormatMessageLine, IndentsTheContinuationOfAMultiLineMessage) {
    EXPECT_EQ(format_message_line({1, 0, "bo", "one\ntwo"}, "23:59"),
              "[23:59] bo: one\n          two\n");
}

TEST(FormatMessageLine, SanitizesNickAndText) {
    EXPECT_EQ(format_message_line({1, 0, "\x1b[31mevil\nnick", "\x1b]0;title\x07hi"}, "00:00"),
              "[00:00] [31mevilnick: ]0;titlehi\n");
}

}  // namespace
}  // namespace cgihost::chat_client
