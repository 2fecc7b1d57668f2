#include "chat_client/input_lines.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cgihost::chat_client {
namespace {

// Every line (and "<too long>" for a dropped one) after feeding `input` in pieces of `piece`
// bytes and then closing the input.
std::vector<std::string> lines_of(std::string_view input, size_t piece, size_t limit = 10) {
    InputLines lines(limit);
    std::vector<std::string> out;
    auto drain = [&](bool at_end) {
        while (auto line = lines.next(at_end)) {
            out.push_back(line->too_long ? "<too long>" : line->text);
        }
    };
    for (size_t at = 0; at < input.size(); at += piece) {
        lines.append(input.substr(at, piece));
        drain(false);
    }
    drain(true);
    return out;
}

TEST(InputLines, SplitsAtNewlinesHoweverTheInputArrives) {
    const struct {
        const char* input;
        std::vector<std::string> lines;
    } cases[] = {
        {"", {}},
        {"one\ntwo\n", {"one", "two"}},
        {"crlf\r\nline\r\n", {"crlf", "line"}},
        {"no newline at end", {"<too long>"}},
        {"last", {"last"}},
        {"\n\nx\n", {"", "", "x"}},
        {"this line is too long\nshort\n", {"<too long>", "short"}},
        {"0123456789\n01234567890\nok", {"0123456789", "<too long>", "ok"}},
        {"far far far too long without end", {"<too long>"}},
    };
    for (const auto& c : cases) {
        std::string_view input = c.input;
        for (size_t piece = 1; piece <= input.size() + 1; ++piece) {
            EXPECT_EQ(lines_of(input, piece), c.lines)
                << '"' << c.input << "\" in pieces of " << piece;
        }
    }
}

TEST(InputLines, NeverHoldsMoreThanALineOfATooLongLine) {
    InputLines lines(4);
    lines.append("abcdefgh");
    auto first = lines.next();
    ASSERT_TRUE(first);
    EXPECT_TRUE(first->too_long);
    lines.append("ijkl");
    EXPECT_FALSE(lines.next());  // still inside the same line: reported once
    lines.append("mn\nok\n");
    auto next = lines.next();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->text, "ok");
}

}  // namespace
}  // namespace cgihost::chat_client
