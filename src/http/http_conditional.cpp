#include "http/http_conditional.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <vector>

namespace cgihost {
namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::sys_seconds;

constexpr std::array<std::string_view, 7> kDayNames{"Sun", "Mon", "Tue", "Wed",
                                                    "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDayNames{
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonthNames{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range a 4-digit year can show.
constexpr int64_t kEarliestFormattable = -62167219200;
constexpr int64_t kLatestFormattable = 253402300799;

// Appends a non-negative number with leading zeros up to `width` digits.
void append_padded(std::string& out, int64_t value, size_t width) {
    std::string digits = std::to_string(value);
    if (digits.size() < width) out.append(width - digits.size(), '0');
    out += digits;
}

void append_hex(std::string& out, uint64_t value) {
    char buffer[16];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, value, 16);
    out.append(buffer, result.ptr);
}

// The broken-down fields of an HTTP-date before they are checked and converted.
struct CivilTime {
    int year = 0;
    int month = 0;  // 1-12
    int day = 0;
    int hour = 0;
    int minute = 0;
    int second = 0;
};

// Consumes an HTTP-date from left to right. HTTP-date is case-sensitive (§5.6.7), so names and
// literals are matched exactly.
class DateScanner {
  public:
    explicit DateScanner(std::string_view text) : rest_(text) {}

    bool at_end() const { return rest_.empty(); }

    bool literal(std::string_view expected) {
        if (!rest_.starts_with(expected)) return false;
        rest_.remove_prefix(expected.size());
        return true;
    }

    // Exactly `count` digits.
    std::optional<int> digits(size_t count) {
        if (rest_.size() < count) return std::nullopt;
        int value = 0;
        for (size_t i = 0; i < count; ++i) {
            if (rest_[i] < '0' || rest_[i] > '9') return std::nullopt;
            value = value * 10 + (rest_[i] - '0');
        }
        rest_.remove_prefix(count);
        return value;
    }

    // The index in `names` of the name that comes next. No name in our lists is a prefix of
    // another, so the first hit is the only one.
    template <size_t N>
    std::optional<int> one_of(const std::array<std::string_view, N>& names) {
        for (size_t i = 0; i < N; ++i) {
            if (literal(names[i])) return static_cast<int>(i);
        }
        return std::nullopt;
    }

    // time-of-day = hour ":" minute ":" second, two digits each.
    bool time_of_day(CivilTime& time) {
        auto hour = digits(2);
        if (!hour || !literal(":")) return false;
        auto minute = digits(2);
        if (!minute || !literal(":")) return false;
        auto second = digits(2);
        if (!second) return false;
        time.hour = *hour;
        time.minute = *minute;
        time.second = *second;
        return true;
    }

  private:
    std::string_view rest_;
};

// IMF-fixdate = day-name "," SP day SP month SP year SP time-of-day SP "GMT"
std::optional<CivilTime> scan_imf_fixdate(std::string_view text) {
    DateScanner scan(text);
    CivilTime time;
    if (!scan.one_of(kDayNames) || !scan.literal(", ")) return std::nullopt;
    auto day = scan.digits(2);
    if (!day || !scan.literal(" ")) return std::nullopt;
    auto month = scan.one_of(kMonthNames);
    if (!month || !scan.literal(" ")) return std::nullopt;
    auto year = scan.digits(4);
    if (!year || !scan.literal(" ") || !scan.time_of_day(time)) return std::nullopt;
    if (!scan.literal(" GMT") || !scan.at_end()) return std::nullopt;
    time.year = *year;
    time.month = *month + 1;
    time.day = *day;
    return time;
}

// rfc850-date = day-name-l "," SP day "-" month "-" 2DIGIT SP time-of-day SP "GMT"
std::optional<CivilTime> scan_rfc850_date(std::string_view text) {
    DateScanner scan(text);
    CivilTime time;
    if (!scan.one_of(kLongDayNames) || !scan.literal(", ")) return std::nullopt;
    auto day = scan.digits(2);
    if (!day || !scan.literal("-")) return std::nullopt;
    auto month = scan.one_of(kMonthNames);
    if (!month || !scan.literal("-")) return std::nullopt;
    auto year = scan.digits(2);
    if (!year || !scan.literal(" ") || !scan.time_of_day(time)) return std::nullopt;
    if (!scan.literal(" GMT") || !scan.at_end()) return std::nullopt;
    time.year = *year;  // two digits; the caller picks the century
    time.month = *month + 1;
    time.day = *day;
    return time;
}

// asctime-date = day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time-of-day SP year
std::optional<CivilTime> scan_asctime_date(std::string_view text) {
    DateScanner scan(text);
    CivilTime time;
    if (!scan.one_of(kDayNames) || !scan.literal(" ")) return std::nullopt;
    auto month = scan.one_of(kMonthNames);
    if (!month || !scan.literal(" ")) return std::nullopt;
    auto day = scan.literal(" ") ? scan.digits(1) : scan.digits(2);
    if (!day || !scan.literal(" ") || !scan.time_of_day(time)) return std::nullopt;
    if (!scan.literal(" ")) return std::nullopt;
    auto year = scan.digits(4);
    if (!year || !scan.at_end()) return std::nullopt;
    time.year = *year;
    time.month = *month + 1;
    time.day = *day;
    return time;
}

int current_year() {
    auto today = std::chrono::floor<days>(std::chrono::system_clock::now());
    return static_cast<int>(std::chrono::year_month_day{today}.year());
}

// §5.6.7: a two-digit year that would be more than 50 years in the future means the most recent
// past year with the same last two digits.
int expand_two_digit_year(int two_digits, int this_year) {
    int year = this_year - this_year % 100 + two_digits;
    if (year > this_year + 50) year -= 100;
    return year;
}

// Checks the fields and converts them. A second of 60 is allowed for a leap second (§5.6.7) and
// counts as the first second of the next minute, as POSIX time has no leap seconds.
std::optional<int64_t> to_unix_seconds(const CivilTime& time) {
    std::chrono::year_month_day date{std::chrono::year{time.year},
                                     std::chrono::month{static_cast<unsigned>(time.month)},
                                     std::chrono::day{static_cast<unsigned>(time.day)}};
    if (!date.ok() || time.hour > 23 || time.minute > 59 || time.second > 60) return std::nullopt;
    int64_t day_number = sys_days{date}.time_since_epoch().count();
    return day_number * 86400 + int64_t{time.hour} * 3600 + int64_t{time.minute} * 60 + time.second;
}

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE (§8.8.3); `opaque` keeps the quotes.
struct EntityTag {
    bool weak = false;
    std::string_view opaque;
};

bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

// Strips OWS, which is spaces and tabs (RFC 9110 §5.6.3).
std::string_view trim_ows(std::string_view text) {
    size_t start = text.find_first_not_of(" \t");
    if (start == std::string_view::npos) return {};
    return text.substr(start, text.find_last_not_of(" \t") - start + 1);
}

// etagc = %x21 / %x23-7E / obs-text: any visible byte but DQUOTE, so a tag may hold a comma.
bool is_etagc(char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte == 0x21 || (byte >= 0x23 && byte != 0x7F);
}

// Parses one entity-tag at the front of `text` and removes it from `text`.
std::optional<EntityTag> take_entity_tag(std::string_view& text) {
    EntityTag tag;
    std::string_view rest = text;
    if (rest.starts_with("W/")) {
        tag.weak = true;
        rest.remove_prefix(2);
    }
    if (rest.empty() || rest.front() != '"') return std::nullopt;
    size_t end = 1;
    while (end < rest.size() && is_etagc(rest[end])) {
        ++end;
    }
    if (end >= rest.size() || rest[end] != '"') return std::nullopt;
    tag.opaque = rest.substr(0, end + 1);
    text = rest.substr(end + 1);
    return tag;
}

// A field value that is exactly one entity-tag, such as our own ETag or an If-Range value.
std::optional<EntityTag> parse_single_entity_tag(std::string_view value) {
    value = trim_ows(value);
    auto tag = take_entity_tag(value);
    if (!tag || !value.empty()) return std::nullopt;
    return tag;
}

// #entity-tag, with the empty elements §5.6.1 tells recipients to accept. A malformed list
// yields nullopt: we cannot tell which tags the client meant, so none of them counts.
std::optional<std::vector<EntityTag>> parse_entity_tag_list(std::string_view value) {
    std::vector<EntityTag> tags;
    while (true) {
        while (!value.empty() && (is_ows(value.front()) || value.front() == ',')) {
            value.remove_prefix(1);
        }
        if (value.empty()) return tags;
        auto tag = take_entity_tag(value);
        if (!tag) return std::nullopt;
        tags.push_back(*tag);
        value = trim_ows(value);
        if (!value.empty() && value.front() != ',') return std::nullopt;
    }
}

// §8.8.3.2: strong comparison needs both tags strong; weak comparison ignores the W/ flag.
enum class Comparison { strong, weak };

bool tags_match(const EntityTag& a, const EntityTag& b, Comparison comparison) {
    if (comparison == Comparison::strong && (a.weak || b.weak)) return false;
    return a.opaque == b.opaque;
}

// Evaluates an If-Match or If-None-Match value: "*" or a list of entity tags (§13.1.1, §13.1.2).
// "*" matches because the caller only asks about a file that exists.
bool any_tag_matches(std::string_view field, std::string_view etag, Comparison comparison) {
    if (trim_ows(field) == "*") return true;
    auto current = parse_single_entity_tag(etag);
    auto tags = parse_entity_tag_list(field);
    if (!current || !tags) return false;
    return std::ranges::any_of(
        *tags, [&](const EntityTag& tag) { return tags_match(tag, *current, comparison); });
}

}  // namespace

std::string make_etag(const FileVersion& version) {
    // Unsigned arithmetic so an absurd mtime wraps instead of overflowing; the tag only needs to
    // change when the file does.
    uint64_t mtime_ns = static_cast<uint64_t>(version.mtime_sec) * 1'000'000'000u +
                        static_cast<uint64_t>(version.mtime_nsec);
    std::string tag = "\"";
    append_hex(tag, version.inode);
    tag += '-';
    append_hex(tag, version.size);
    tag += '-';
    append_hex(tag, mtime_ns);
    tag += '"';
    return tag;
}

std::string format_http_date(int64_t unix_seconds) {
    int64_t clamped = std::clamp(unix_seconds, kEarliestFormattable, kLatestFormattable);
    sys_seconds time{std::chrono::seconds{clamped}};
    auto day_start = std::chrono::floor<days>(time);
    std::chrono::year_month_day date{day_start};
    std::chrono::hh_mm_ss clock{time - day_start};
    std::string out(kDayNames[std::chrono::weekday{day_start}.c_encoding()]);
    out += ", ";
    append_padded(out, static_cast<unsigned>(date.day()), 2);
    out += ' ';
    out += kMonthNames[static_cast<unsigned>(date.month()) - 1];
    out += ' ';
    append_padded(out, static_cast<int>(date.year()), 4);
    out += ' ';
    append_padded(out, clock.hours().count(), 2);
    out += ':';
    append_padded(out, clock.minutes().count(), 2);
    out += ':';
    append_padded(out, clock.seconds().count(), 2);
    out += " GMT";
    return out;
}

std::optional<int64_t> parse_http_date(std::string_view text) {
    text = trim_ows(text);
    if (auto time = scan_imf_fixdate(text)) return to_unix_seconds(*time);
    if (auto time = scan_rfc850_date(text)) {
        time->year = expand_two_digit_year(time->year, current_year());
        return to_unix_seconds(*time);
    }
    if (auto time = scan_asctime_date(text)) return to_unix_seconds(*time);
    return std::nullopt;
}

ConditionalOutcome evaluate_conditionals(const ConditionalHeaders& headers, std::string_view etag,
                                         int64_t mtime_sec, bool is_get_or_head) {
    // Steps 1 and 2: If-Match, or else If-Unmodified-Since. An invalid date is ignored (§13.1.4).
    if (headers.if_match) {
        if (!any_tag_matches(*headers.if_match, etag, Comparison::strong)) {
            return ConditionalOutcome::precondition_failed;
        }
    } else if (headers.if_unmodified_since) {
        auto date = parse_http_date(*headers.if_unmodified_since);
        if (date && mtime_sec > *date) return ConditionalOutcome::precondition_failed;
    }
    // Steps 3 and 4: If-None-Match, or else If-Modified-Since, which only GET and HEAD use
    // (§13.1.3).
    if (headers.if_none_match) {
        if (any_tag_matches(*headers.if_none_match, etag, Comparison::weak)) {
            return is_get_or_head ? ConditionalOutcome::not_modified
                                  : ConditionalOutcome::precondition_failed;
        }
    } else if (headers.if_modified_since && is_get_or_head) {
        auto date = parse_http_date(*headers.if_modified_since);
        if (date && mtime_sec <= *date) return ConditionalOutcome::not_modified;
    }
    return ConditionalOutcome::proceed;
}

bool if_range_matches(std::string_view if_range_value, std::string_view etag, int64_t mtime_sec) {
    std::string_view value = trim_ows(if_range_value);
    // §13.1.5: an entity-tag starts with DQUOTE or "W/", which no HTTP-date does.
    if (value.starts_with('"') || value.starts_with("W/")) {
        auto requested = parse_single_entity_tag(value);
        auto current = parse_single_entity_tag(etag);
        return requested && current && tags_match(*requested, *current, Comparison::strong);
    }
    // TODO(strong validator): §13.1.5 wants the date to be a strong validator, i.e. Last-Modified
    // at least a second older than the response Date (§8.8.2.2); we accept an exact match.
    auto date = parse_http_date(value);
    return date && *date == mtime_sec;
}

}  // namespace cgihost
