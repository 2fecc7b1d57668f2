#include "http/http_range.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace cgihost {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

struct RangeCase {
    const char* header;
    uint64_t file_size;
    RangeKind kind;
    uint64_t first = 0;
    uint64_t length = 0;
};

void expect_ranges(std::initializer_list<RangeCase> cases) {
    for (const RangeCase& c : cases) {
        RangeRequest request = parse_range_header(c.header, c.file_size);
        EXPECT_EQ(request.kind, c.kind) << c.header << " of " << c.file_size;
        if (c.kind == RangeKind::single && request.kind == RangeKind::single) {
            EXPECT_EQ(request.range.first, c.first) << c.header << " of " << c.file_size;
            EXPECT_EQ(request.range.length, c.length) << c.header << " of " << c.file_size;
        }
    }
}

TEST(ParseRangeHeader, ReadsTheThreeFormsOfASingleRange) {
    expect_ranges({
        {"bytes=0-99", 1000, RangeKind::single, 0, 100},
        {"bytes=500-999", 1000, RangeKind::single, 500, 500},
        {"bytes=10-10", 1000, RangeKind::single, 10, 1},
        {"bytes=900-", 1000, RangeKind::single, 900, 100},
        {"bytes=0-", 1000, RangeKind::single, 0, 1000},
        {"bytes=-100", 1000, RangeKind::single, 900, 100},
        {"bytes=-1", 1000, RangeKind::single, 999, 1},
    });
}

TEST(ParseRangeHeader, ClampsALastPositionOrSuffixBeyondTheEnd) {
    expect_ranges({
        {"bytes=0-1000", 1000, RangeKind::single, 0, 1000},
        {"bytes=990-5000", 1000, RangeKind::single, 990, 10},
        {"bytes=-5000", 1000, RangeKind::single, 0, 1000},
        {"bytes=-1000", 1000, RangeKind::single, 0, 1000},
        {"bytes=0-0", 1, RangeKind::single, 0, 1},
        {"bytes=-1", 1, RangeKind::single, 0, 1},
    });
}

TEST(ParseRangeHeader, ReportsRangesThatStartPastTheEndAsUnsatisfiable) {
    expect_ranges({
        {"bytes=1000-", 1000, RangeKind::unsatisfiable},
        {"bytes=1000-2000", 1000, RangeKind::unsatisfiable},
        {"bytes=5000-6000", 1000, RangeKind::unsatisfiable},
        {"bytes=1-", 1, RangeKind::unsatisfiable},
    });
}

TEST(ParseRangeHeader, ReportsAZeroSuffixAsUnsatisfiable) {
    expect_ranges({
        {"bytes=-0", 1000, RangeKind::unsatisfiable},
        {"bytes=-000", 1000, RangeKind::unsatisfiable},
    });
}

TEST(ParseRangeHeader, ReportsAnyRangeOfAnEmptyFileAsUnsatisfiable) {
    expect_ranges({
        {"bytes=0-", 0, RangeKind::unsatisfiable},
        {"bytes=0-0", 0, RangeKind::unsatisfiable},
        {"bytes=-1", 0, RangeKind::unsatisfiable},
        {"bytes=-0", 0, RangeKind::unsatisfiable},
    });
}

TEST(ParseRangeHeader, AcceptsTheUnitInAnyCaseAndOptionalWhitespace) {
    expect_ranges({
        {"BYTES=0-9", 100, RangeKind::single, 0, 10},
        {"Bytes=0-9", 100, RangeKind::single, 0, 10},
        {"  bytes=0-9\t", 100, RangeKind::single, 0, 10},
        {"bytes= 0-9 ", 100, RangeKind::single, 0, 10},
        {"bytes=\t-5", 100, RangeKind::single, 95, 5},
    });
}

TEST(ParseRangeHeader, SkipsEmptyListElements) {
    // RFC 9110 §5.6.1: a recipient accepts empty elements of a comma-separated list.
    expect_ranges({
        {"bytes=0-9,", 100, RangeKind::single, 0, 10},
        {"bytes=, 0-9", 100, RangeKind::single, 0, 10},
        {"bytes= , ,0-9 ,, ", 100, RangeKind::single, 0, 10},
    });
}

TEST(ParseRangeHeader, IgnoresMoreThanOneRange) {
    expect_ranges({
        {"bytes=0-9,20-29", 100, RangeKind::none},
        {"bytes=0-9 , -5", 100, RangeKind::none},
        {"bytes=0-0,0-0", 100, RangeKind::none},
        {"bytes=200-300,400-", 100, RangeKind::none},
    });
}

TEST(ParseRangeHeader, IgnoresInvalidSyntax) {
    expect_ranges({
        {"", 100, RangeKind::none},
        {"bytes", 100, RangeKind::none},
        {"bytes=", 100, RangeKind::none},
        {"bytes=,", 100, RangeKind::none},
        {"bytes=-", 100, RangeKind::none},
        {"bytes=--5", 100, RangeKind::none},
        {"bytes=5", 100, RangeKind::none},
        {"bytes=a-b", 100, RangeKind::none},
        {"bytes=1-2-3", 100, RangeKind::none},
        {"bytes=+1-2", 100, RangeKind::none},
        {"bytes=1 - 2", 100, RangeKind::none},
        {"bytes=0x10-20", 100, RangeKind::none},
        {"bytes=9-5", 100, RangeKind::none},
        {"bytes =0-5", 100, RangeKind::none},
        {"bytes==0-5", 100, RangeKind::none},
        {"bytes=0-5,x", 100, RangeKind::none},
        {"=0-5", 100, RangeKind::none},
    });
}

TEST(ParseRangeHeader, IgnoresUnitsOtherThanBytes) {
    expect_ranges({
        {"items=0-5", 100, RangeKind::none},
        {"byte=0-5", 100, RangeKind::none},
        {"bytesx=0-5", 100, RangeKind::none},
        {"none=0-5", 100, RangeKind::none},
    });
}

TEST(ParseRangeHeader, SaturatesHugeNumbersInsteadOfOverflowing) {
    expect_ranges({
        {"bytes=0-99999999999999999999999999999", 1000, RangeKind::single, 0, 1000},
        {"bytes=-99999999999999999999999999999", 1000, RangeKind::single, 0, 1000},
        {"bytes=99999999999999999999999999999-", 1000, RangeKind::unsatisfiable},
        {"bytes=18446744073709551615-18446744073709551615", kMax, RangeKind::unsatisfiable},
        {"bytes=18446744073709551614-", kMax, RangeKind::single, kMax - 1, 1},
        {"bytes=0-", kMax, RangeKind::single, 0, kMax},
        {"bytes=-18446744073709551616", kMax, RangeKind::single, 0, kMax},
        // Both saturate, so last-pos is not below first-pos; the range starts past the end.
        {"bytes=99999999999999999999999-99999999999999999998", 1000, RangeKind::unsatisfiable},
    });
}

TEST(ParseRangeHeader, SurvivesEveryPrefixOfAValidHeader) {
    const std::string header = "bytes=100-199";
    for (size_t n = 0; n <= header.size(); ++n) {
        RangeRequest request = parse_range_header(header.substr(0, n), 1000);
        if (request.kind == RangeKind::single) {
            EXPECT_LT(request.range.first, 1000u) << header.substr(0, n);
            EXPECT_LE(request.range.first + request.range.length, 1000u) << header.substr(0, n);
        }
    }
    EXPECT_EQ(parse_range_header("bytes=100-1", 1000).kind, RangeKind::none);
    EXPECT_EQ(parse_range_header("bytes=100-", 1000).range.length, 900u);
}

TEST(FormatContentRange, WritesFirstLastAndSize) {
    EXPECT_EQ(format_content_range({0, 100}, 1000), "bytes 0-99/1000");
    EXPECT_EQ(format_content_range({999, 1}, 1000), "bytes 999-999/1000");
    EXPECT_EQ(format_content_range({0, kMax}, kMax),
              "bytes 0-18446744073709551614/18446744073709551615");
}

TEST(FormatContentRange, MatchesWhatTheParserSelected) {
    RangeRequest request = parse_range_header("bytes=-200", 1000);
    ASSERT_EQ(request.kind, RangeKind::single);
    EXPECT_EQ(format_content_range(request.range, 1000), "bytes 800-999/1000");
}

TEST(FormatUnsatisfiedRange, WritesAStarAndTheSize) {
    EXPECT_EQ(format_unsatisfied_range(1000), "bytes */1000");
    EXPECT_EQ(format_unsatisfied_range(0), "bytes */0");
}

}  // namespace
}  // namespace cgihost
