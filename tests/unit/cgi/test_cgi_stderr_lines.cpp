// CgiStderrLines: a script's stderr bytes split into error-log lines within the byte limit.
#include "cgi/cgi_stderr_lines.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cgihost {
namespace {

using Lines = std::vector<std::string>;

// Everything logged for `input` fed in two pieces (cut at split_at) and then ended, with the
// notice as "<cut>".
Lines log_of(uint64_t limit, std::string_view input, size_t split_at = std::string::npos) {
    CgiStderrLines splitter(limit);
    Lines logged;
    auto take = [&logged](const CgiStderrBatch& batch) {
        logged.insert(logged.end(), batch.lines.begin(), batch.lines.end());
        if (batch.limit_reached) logged.emplace_back("<cut>");
    };
    if (split_at > input.size()) split_at = input.size();
    take(splitter.feed(input.substr(0, split_at)));
    take(splitter.feed(input.substr(split_at)));
    take(splitter.finish());
    return logged;
}

struct SplitCase {
    const char* what;
    uint64_t limit;
    std::string input;
    Lines expected;
};

const SplitCase kCases[] = {
    {"nothing written logs nothing", 100, "", {}},
    {"each line is one entry", 100, "one\ntwo\n", {"one", "two"}},
    {"an empty line is an entry", 100, "\n\nx\n", {"", "", "x"}},
    {"a last line without its newline is logged at the end", 100, "one\ntwo", {"one", "two"}},
    {"a carriage return stays in the line", 100, "dos\r\n", {"dos\r"}},
    {"a line that reaches the limit is logged, then the notice",
     8,
     "1234567\nmore\n",
     {"1234567", "<cut>"}},
    {"a line that crosses the limit is logged whole, then the notice",
     5,
     "123456789\nmore\n",
     {"123456789", "<cut>"}},
    {"below the limit there is no notice", 9, "1234567\n", {"1234567"}},
    {"the newline counts toward the limit", 4, "abc\nd\n", {"abc", "<cut>"}},
    {"an unterminated last line can reach the limit", 6, "abc\nd", {"abc", "d", "<cut>"}},
    {"a limit of zero logs nothing, not even the notice", 0, "one\ntwo\n", {}},
};

TEST(CgiStderrLines, SplitsLinesWithinTheLimit) {
    for (const auto& c : kCases) {
        EXPECT_EQ(log_of(c.limit, c.input), c.expected) << c.what;
    }
}

TEST(CgiStderrLines, GivesTheSameLinesWhereverTheInputIsSplit) {
    for (const auto& c : kCases) {
        for (size_t at = 0; at <= c.input.size(); ++at) {
            EXPECT_EQ(log_of(c.limit, c.input, at), c.expected) << c.what << ", split at " << at;
        }
    }
}

TEST(CgiStderrLines, CutsALongLineAndDropsTheRestOfIt) {
    const std::string long_line(CgiStderrLines::kMaxLineLength + 100, 'x');
    Lines logged = log_of(1'000'000, long_line + "\nnext\n");
    ASSERT_EQ(logged.size(), 2u);
    EXPECT_EQ(logged[0], std::string(CgiStderrLines::kMaxLineLength, 'x'));
    EXPECT_EQ(logged[1], "next");
}

TEST(CgiStderrLines, CountsACutLineAsItsLoggedLength) {
    const std::string long_line(CgiStderrLines::kMaxLineLength + 100, 'x');
    // The cut line and its newline leave room for exactly one more byte.
    Lines logged = log_of(CgiStderrLines::kMaxLineLength + 2, long_line + "\n\nlast\n");
    EXPECT_EQ(logged, (Lines{std::string(CgiStderrLines::kMaxLineLength, 'x'), "", "<cut>"}));
}

TEST(CgiStderrLines, LogsNothingAfterTheNotice) {
    CgiStderrLines splitter(4);
    CgiStderrBatch first = splitter.feed("abcd\n");
    EXPECT_EQ(first.lines, Lines{"abcd"});
    EXPECT_TRUE(first.limit_reached);
    CgiStderrBatch later = splitter.feed("more\nand more\n");
    EXPECT_TRUE(later.lines.empty());
    EXPECT_FALSE(later.limit_reached);
    CgiStderrBatch end = splitter.finish();
    EXPECT_TRUE(end.lines.empty());
    EXPECT_FALSE(end.limit_reached);
}

TEST(CgiStderrLines, FinishingTwiceLogsTheOpenLineOnce) {
    CgiStderrLines splitter(100);
    EXPECT_TRUE(splitter.feed("open").lines.empty());
    EXPECT_EQ(splitter.finish().lines, Lines{"open"});
    EXPECT_TRUE(splitter.finish().lines.empty());
}

}  // namespace
}  // namespace cgihost
