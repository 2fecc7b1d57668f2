#include "http/http_conditional.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace cgihost {
namespace {

// Sun, 06 Nov 1994 08:49:37 GMT, the example date of RFC 9110 §5.6.7.
constexpr int64_t kExampleTime = 784111777;

TEST(MakeEtag, JoinsInodeSizeAndMtimeInHexInsideQuotes) {
    EXPECT_EQ(make_etag({0x1a2b, 0x400, 1, 5}), "\"1a2b-400-3b9aca05\"");
    EXPECT_EQ(make_etag({0, 0, 0, 0}), "\"0-0-0\"");
}

TEST(MakeEtag, ChangesWhenAnyPartOfTheVersionChanges) {
    const FileVersion base{42, 1000, kExampleTime, 123};
    const std::string tag = make_etag(base);
    EXPECT_NE(make_etag({43, 1000, kExampleTime, 123}), tag);
    EXPECT_NE(make_etag({42, 1001, kExampleTime, 123}), tag);
    EXPECT_NE(make_etag({42, 1000, kExampleTime + 1, 123}), tag);
    EXPECT_NE(make_etag({42, 1000, kExampleTime, 124}), tag);
    EXPECT_EQ(make_etag(base), tag);
}

TEST(MakeEtag, StaysWellDefinedForExtremeTimes) {
    EXPECT_EQ(make_etag({1, 1, -1, 0}), "\"1-1-ffffffffc4653600\"");
    EXPECT_FALSE(make_etag({UINT64_MAX, UINT64_MAX, INT64_MAX, 999999999}).empty());
}

struct DateCase {
    int64_t unix_seconds;
    const char* text;
};

TEST(FormatHttpDate, WritesImfFixdate) {
    for (const DateCase& c : std::initializer_list<DateCase>{
             {kExampleTime, "Sun, 06 Nov 1994 08:49:37 GMT"},
             {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
             {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
             {1709251199, "Thu, 29 Feb 2024 23:59:59 GMT"},
             {2147483648, "Tue, 19 Jan 2038 03:14:08 GMT"},
             {-1, "Wed, 31 Dec 1969 23:59:59 GMT"},
             {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
             {-62167219200, "Sat, 01 Jan 0000 00:00:00 GMT"},
         }) {
        EXPECT_EQ(format_http_date(c.unix_seconds), c.text) << c.unix_seconds;
    }
}

TEST(FormatHttpDate, ClampsTimesAFourDigitYearCannotShow) {
    EXPECT_EQ(format_http_date(INT64_MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
    EXPECT_EQ(format_http_date(INT64_MIN), "Sat, 01 Jan 0000 00:00:00 GMT");
}

TEST(FormatHttpDate, IsSafeToCallFromManyThreads) {
    std::vector<std::thread> threads;
    threads.reserve(4);
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([t, &failures] {
            const int64_t when = t % 2 == 0 ? kExampleTime : 0;
            const char* expected =
                t % 2 == 0 ? "Sun, 06 Nov 1994 08:49:37 GMT" : "Thu, 01 Jan 1970 00:00:00 GMT";
            for (int i = 0; i < 2000; ++i)
                failures[t] += format_http_date(when) != expected;
        });
    }
    for (std::thread& thread : threads)
        thread.join();
    for (int count : failures)
        EXPECT_EQ(count, 0);
}

TEST(ParseHttpDate, AcceptsAllThreeFormats) {
    for (const char* text : {
             "Sun, 06 Nov 1994 08:49:37 GMT",   // IMF-fixdate
             "Sunday, 06-Nov-94 08:49:37 GMT",  // RFC 850
             "Sun Nov  6 08:49:37 1994",        // asctime
             "  Sun, 06 Nov 1994 08:49:37 GMT\t",
         }) {
        EXPECT_EQ(parse_http_date(text), kExampleTime) << text;
    }
}

TEST(ParseHttpDate, ReadsTwoDigitAsctimeDaysAndEveryMonth) {
    EXPECT_EQ(parse_http_date("Thu Feb 29 23:59:59 2024"), 1709251199);
    const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int m = 0; m < 12; ++m) {
        std::string text = std::string("Mon, 01 ") + months[m] + " 2001 00:00:00 GMT";
        auto parsed = parse_http_date(text);
        ASSERT_TRUE(parsed.has_value()) << text;
        EXPECT_EQ(format_http_date(*parsed).substr(8, 3), months[m]) << text;
    }
}

TEST(ParseHttpDate, RoundTripsWhatWeFormat) {
    for (int64_t t : {int64_t{0}, kExampleTime, int64_t{951782400}, int64_t{4102444800},
                      int64_t{-86400}, int64_t{253402300799}}) {
        EXPECT_EQ(parse_http_date(format_http_date(t)), t) << t;
    }
}

TEST(ParseHttpDate, PutsRfc850YearsWithinFiftyYearsOfNow) {
    // §5.6.7: a two-digit year more than 50 years ahead belongs to the previous century.
    // These cases hold from 2000 until 2050.
    EXPECT_EQ(parse_http_date("Thursday, 01-Jan-98 00:00:00 GMT"), 883612800);
    EXPECT_EQ(parse_http_date("Saturday, 01-Jan-00 00:00:00 GMT"), 946684800);
    EXPECT_EQ(parse_http_date("Tuesday, 01-Jan-30 00:00:00 GMT"), 1893456000);
}

TEST(ParseHttpDate, AcceptsALeapSecond) {
    EXPECT_EQ(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT"), 1483228800);
}

TEST(ParseHttpDate, RejectsGarbageAndNearMisses) {
    for (const char* text : {
             "",
             "garbage",
             "0",
             "784111777",
             "Sun, 06 Nov 1994 08:49:37",         // no zone
             "Sun, 06 Nov 1994 08:49:37 UTC",     // only GMT is allowed
             "Sun, 06 Nov 1994 08:49:37 GMT x",   // trailing text
             "sun, 06 Nov 1994 08:49:37 GMT",     // names are case-sensitive
             "Sun, 06 nov 1994 08:49:37 GMT",     //
             "Sun, 6 Nov 1994 08:49:37 GMT",      // day needs two digits
             "Sun, 06 Nov 94 08:49:37 GMT",       // year needs four digits
             "Sun,06 Nov 1994 08:49:37 GMT",      // missing space
             "Sun, 06  Nov 1994 08:49:37 GMT",    // extra space
             "Sun, 06 Nov 1994 8:49:37 GMT",      // hour needs two digits
             "Sun, 06 Nov 1994 24:00:00 GMT",     // hour out of range
             "Sun, 06 Nov 1994 08:60:00 GMT",     // minute out of range
             "Sun, 06 Nov 1994 08:49:61 GMT",     // second out of range
             "Sun, 31 Nov 1994 08:49:37 GMT",     // no such day
             "Thu, 29 Feb 2001 00:00:00 GMT",     // not a leap year
             "Sun, 00 Nov 1994 08:49:37 GMT",     // day zero
             "Xyz, 06 Nov 1994 08:49:37 GMT",     // unknown day name
             "Sun, 06 Nox 1994 08:49:37 GMT",     // unknown month
             "Sunday, 06-Nov-1994 08:49:37 GMT",  // RFC 850 has a two-digit year
             "Sun, 06-Nov-94 08:49:37 GMT",       // RFC 850 needs the long day name
             "Sun Nov 6 08:49:37 1994",           // asctime pads the day with a space
             "Sun Nov  6 08:49:37 1994 GMT",      // asctime has no zone
             "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",  // a list
         }) {
        EXPECT_FALSE(parse_http_date(text).has_value()) << text;
    }
}

TEST(ParseHttpDate, SurvivesEveryPrefix) {
    for (std::string text : {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                             "Sun Nov  6 08:49:37 1994"}) {
        for (size_t n = 0; n < text.size(); ++n) {
            EXPECT_FALSE(parse_http_date(text.substr(0, n)).has_value()) << text.substr(0, n);
        }
    }
}

// The file the conditional tests compare against.
constexpr std::string_view kEtag = "\"abc\"";
constexpr int64_t kMtime = kExampleTime;
const std::string kAtMtime = "Sun, 06 Nov 1994 08:49:37 GMT";
const std::string kBeforeMtime = "Sun, 06 Nov 1994 08:49:36 GMT";
const std::string kAfterMtime = "Sun, 06 Nov 1994 08:49:38 GMT";

using Outcome = ConditionalOutcome;

struct ConditionalCase {
    const char* description;
    ConditionalHeaders headers;
    bool is_get_or_head;
    Outcome expected;
};

void expect_outcomes(std::initializer_list<ConditionalCase> cases) {
    for (const ConditionalCase& c : cases) {
        EXPECT_EQ(evaluate_conditionals(c.headers, kEtag, kMtime, c.is_get_or_head), c.expected)
            << c.description;
    }
}

TEST(EvaluateConditionals, ProceedsWithoutPreconditions) {
    expect_outcomes({
        {"no headers, GET", {}, true, Outcome::proceed},
        {"no headers, POST", {}, false, Outcome::proceed},
    });
}

TEST(EvaluateConditionals, IfMatchUsesStrongComparison) {
    expect_outcomes({
        {"same tag", {.if_match = "\"abc\""}, true, Outcome::proceed},
        {"star", {.if_match = "*"}, true, Outcome::proceed},
        {"in a list", {.if_match = "\"x\", \"abc\""}, true, Outcome::proceed},
        {"other tag", {.if_match = "\"xyz\""}, true, Outcome::precondition_failed},
        {"weak tag never matches", {.if_match = "W/\"abc\""}, true, Outcome::precondition_failed},
        {"unquoted", {.if_match = "abc"}, true, Outcome::precondition_failed},
        {"empty", {.if_match = ""}, true, Outcome::precondition_failed},
        {"other tag, POST", {.if_match = "\"xyz\""}, false, Outcome::precondition_failed},
    });
}

TEST(EvaluateConditionals, IfUnmodifiedSinceCountsOnlyWithoutIfMatch) {
    expect_outcomes({
        {"unchanged since", {.if_unmodified_since = kAtMtime}, true, Outcome::proceed},
        {"changed since",
         {.if_unmodified_since = kBeforeMtime},
         true,
         Outcome::precondition_failed},
        {"changed since, POST",
         {.if_unmodified_since = kBeforeMtime},
         false,
         Outcome::precondition_failed},
        {"invalid date is ignored", {.if_unmodified_since = "yesterday"}, true, Outcome::proceed},
        {"If-Match wins",
         {.if_match = "\"abc\"", .if_unmodified_since = kBeforeMtime},
         true,
         Outcome::proceed},
    });
}

TEST(EvaluateConditionals, IfNoneMatchUsesWeakComparison) {
    expect_outcomes({
        {"same tag", {.if_none_match = "\"abc\""}, true, Outcome::not_modified},
        {"weak form of the tag", {.if_none_match = "W/\"abc\""}, true, Outcome::not_modified},
        {"star", {.if_none_match = "*"}, true, Outcome::not_modified},
        {"in a list", {.if_none_match = "\"a\",W/\"b\" , \"abc\""}, true, Outcome::not_modified},
        {"list with empty elements", {.if_none_match = ", ,\"abc\","}, true, Outcome::not_modified},
        {"other tags", {.if_none_match = "\"a\", \"b\""}, true, Outcome::proceed},
        {"prefix of the tag", {.if_none_match = "\"ab\""}, true, Outcome::proceed},
        {"malformed list", {.if_none_match = "\"abc\" junk"}, true, Outcome::proceed},
        {"unterminated", {.if_none_match = "\"abc"}, true, Outcome::proceed},
        {"match on POST fails", {.if_none_match = "\"abc\""}, false, Outcome::precondition_failed},
        {"star on POST fails", {.if_none_match = "*"}, false, Outcome::precondition_failed},
        {"no match on POST", {.if_none_match = "\"x\""}, false, Outcome::proceed},
    });
}

TEST(EvaluateConditionals, IfModifiedSinceCountsOnlyForGetWithoutIfNoneMatch) {
    expect_outcomes({
        {"not modified since", {.if_modified_since = kAtMtime}, true, Outcome::not_modified},
        {"later date", {.if_modified_since = kAfterMtime}, true, Outcome::not_modified},
        {"modified since", {.if_modified_since = kBeforeMtime}, true, Outcome::proceed},
        {"POST ignores it", {.if_modified_since = kAtMtime}, false, Outcome::proceed},
        {"invalid date is ignored", {.if_modified_since = "soon"}, true, Outcome::proceed},
        {"rfc850 date",
         {.if_modified_since = "Sunday, 06-Nov-94 08:49:37 GMT"},
         true,
         Outcome::not_modified},
        {"If-None-Match mismatch wins",
         {.if_none_match = "\"old\"", .if_modified_since = kAtMtime},
         true,
         Outcome::proceed},
    });
}

TEST(EvaluateConditionals, ChecksIfMatchBeforeIfNoneMatch) {
    expect_outcomes({
        {"both fail",
         {.if_match = "\"x\"", .if_none_match = "\"abc\""},
         true,
         Outcome::precondition_failed},
        {"If-Match passes, If-None-Match matches",
         {.if_match = "\"abc\"", .if_none_match = "\"abc\""},
         true,
         Outcome::not_modified},
        {"If-Unmodified-Since fails before If-None-Match",
         {.if_none_match = "\"abc\"", .if_unmodified_since = kBeforeMtime},
         true,
         Outcome::precondition_failed},
        {"If-Unmodified-Since fails before If-Modified-Since",
         {.if_modified_since = kAtMtime, .if_unmodified_since = kBeforeMtime},
         true,
         Outcome::precondition_failed},
    });
}

TEST(EvaluateConditionals, ComparesAgainstAWeakCurrentTag) {
    ConditionalHeaders weak_match{.if_none_match = "\"abc\""};
    EXPECT_EQ(evaluate_conditionals(weak_match, "W/\"abc\"", kMtime, true), Outcome::not_modified);
    ConditionalHeaders strong_match{.if_match = "\"abc\""};
    EXPECT_EQ(evaluate_conditionals(strong_match, "W/\"abc\"", kMtime, true),
              Outcome::precondition_failed);
}

TEST(EvaluateConditionals, AcceptsCommasInsideATag) {
    // etagc allows ',' (RFC 9110 §8.8.3), so a list cannot simply be split on commas.
    ConditionalHeaders headers{.if_none_match = "\"a,b\""};
    EXPECT_EQ(evaluate_conditionals(headers, "\"a,b\"", kMtime, true), Outcome::not_modified);
    EXPECT_EQ(evaluate_conditionals(headers, "\"a\"", kMtime, true), Outcome::proceed);
}

TEST(IfRangeMatches, ComparesEntityTagsStrongly) {
    EXPECT_TRUE(if_range_matches("\"abc\"", kEtag, kMtime));
    EXPECT_TRUE(if_range_matches(" \"abc\" ", kEtag, kMtime));
    EXPECT_FALSE(if_range_matches("\"abd\"", kEtag, kMtime));
    EXPECT_FALSE(if_range_matches("W/\"abc\"", kEtag, kMtime));
    EXPECT_FALSE(if_range_matches("\"abc\"", "W/\"abc\"", kMtime));
    EXPECT_FALSE(if_range_matches("\"abc\", \"abc\"", kEtag, kMtime));
    EXPECT_FALSE(if_range_matches("\"abc", kEtag, kMtime));
}

TEST(IfRangeMatches, RequiresADateToEqualLastModifiedExactly) {
    EXPECT_TRUE(if_range_matches(kAtMtime, kEtag, kMtime));
    EXPECT_TRUE(if_range_matches("Sun Nov  6 08:49:37 1994", kEtag, kMtime));
    EXPECT_FALSE(if_range_matches(kAfterMtime, kEtag, kMtime));
    EXPECT_FALSE(if_range_matches(kBeforeMtime, kEtag, kMtime));
}

TEST(IfRangeMatches, RejectsAnythingElse) {
    for (const char* value : {"", "*", "abc", "yesterday", "784111777"}) {
        EXPECT_FALSE(if_range_matches(value, kEtag, kMtime)) << value;
    }
}

}  // namespace
}  // namespace cgihost
