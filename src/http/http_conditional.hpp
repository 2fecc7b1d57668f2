// Validators (ETag, Last-Modified) and conditional requests: RFC 9110 §8.8 and §13.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cgihost {

// What identifies one version of a file on disk: any change to it gives a new ETag.
struct FileVersion {
    uint64_t inode = 0;
    uint64_t size = 0;
    int64_t mtime_sec = 0;
    int64_t mtime_nsec = 0;
};

// A strong entity tag (RFC 9110 §8.8.3) such as "\"1a2b-400-17c3f0e5a1b2c3d4\"", quotes included.
// It is strong because we only ever send a file's exact bytes for it.
std::string make_etag(const FileVersion& version);

// Formats a time as an IMF-fixdate (RFC 9110 §5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
// Times outside the years 0000-9999, which a 4-digit year cannot show, are clamped to them.
// Thread-safe: uses no static buffer.
std::string format_http_date(int64_t unix_seconds);

// Parses any of the three HTTP-date formats a recipient must accept (RFC 9110 §5.6.7):
// IMF-fixdate, RFC 850 and asctime. Returns nullopt for anything else.
std::optional<int64_t> parse_http_date(std::string_view text);

// The request's precondition fields, absent when the request lacks them.
struct ConditionalHeaders {
    std::optional<std::string_view> if_match = std::nullopt;
    std::optional<std::string_view> if_none_match = std::nullopt;
    std::optional<std::string_view> if_modified_since = std::nullopt;
    std::optional<std::string_view> if_unmodified_since = std::nullopt;
};

enum class ConditionalOutcome {
    proceed,              // handle the request normally
    not_modified,         // 304
    precondition_failed,  // 412
};

// Evaluates the preconditions against the file's current ETag and Last-Modified in the order of
// RFC 9110 §13.2.2. The file must exist: we only get here with a representation to compare.
// If-Range (step 5) is separate, see if_range_matches.
ConditionalOutcome evaluate_conditionals(const ConditionalHeaders& headers, std::string_view etag,
                                         int64_t mtime_sec, bool is_get_or_head);

// Whether an If-Range value still names the current file, so a Range may be honoured
// (RFC 9110 §13.1.5): an entity tag must match by strong comparison, a date must equal
// Last-Modified exactly. Anything unparsable does not match, so the whole file is sent.
bool if_range_matches(std::string_view if_range_value, std::string_view etag, int64_t mtime_sec);

}  // namespace cgihost
