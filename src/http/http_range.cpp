#include "http/http_range.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <vector>

namespace cgihost {
namespace {

constexpr uint64_t kSaturated = std::numeric_limits<uint64_t>::max();

// One range-spec as written: an int-range "first-[last]" or a suffix-range "-length".
struct RangeSpec {
    std::optional<uint64_t> first;  // absent for a suffix-range
    std::optional<uint64_t> last;   // for a suffix-range, the suffix-length
};

// Strips OWS, which is spaces and tabs (RFC 9110 §5.6.3).
std::string_view trim_ows(std::string_view text) {
    size_t start = text.find_first_not_of(" \t");
    if (start == std::string_view::npos) return {};
    return text.substr(start, text.find_last_not_of(" \t") - start + 1);
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return std::ranges::equal(a, b, [](char x, char y) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
        return lower(x) == lower(y);
    });
}

// Parses 1*DIGIT. A value too large for uint64_t saturates rather than overflowing: it is then
// beyond any real file, which gives the right answer (a huge first-pos is unsatisfiable, a huge
// last-pos or suffix-length means "to the end").
std::optional<uint64_t> parse_digits(std::string_view text) {
    if (text.empty()) return std::nullopt;
    uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        auto digit = static_cast<uint64_t>(c - '0');
        value = value > (kSaturated - digit) / 10 ? kSaturated : value * 10 + digit;
    }
    return value;
}

// range-spec = int-range / suffix-range (RFC 9110 §14.1.1). Empty digits on both sides ("-")
// match neither form.
std::optional<RangeSpec> parse_range_spec(std::string_view spec) {
    size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    std::string_view first_text = spec.substr(0, dash);
    std::string_view last_text = spec.substr(dash + 1);
    RangeSpec parsed;
    if (!first_text.empty()) {
        parsed.first = parse_digits(first_text);
        if (!parsed.first) return std::nullopt;
    }
    if (!last_text.empty() || !parsed.first) {
        parsed.last = parse_digits(last_text);
        if (!parsed.last) return std::nullopt;
    }
    // §14.1.1: an int-range whose last-pos is below its first-pos is invalid.
    if (parsed.first && parsed.last && *parsed.last < *parsed.first) return std::nullopt;
    return parsed;
}

// Splits a range-set on commas. §5.6.1 says a recipient must accept empty list elements, so
// "bytes=0-1," is one range; at least one non-empty element is required.
std::optional<std::vector<std::string_view>> split_range_set(std::string_view range_set) {
    std::vector<std::string_view> specs;
    while (true) {
        size_t comma = range_set.find(',');
        std::string_view element = trim_ows(range_set.substr(0, comma));
        if (!element.empty()) specs.push_back(element);
        if (comma == std::string_view::npos) break;
        range_set.remove_prefix(comma + 1);
    }
    if (specs.empty()) return std::nullopt;
    return specs;
}

// Turns a valid range-spec into the bytes to send, per the satisfiability rules of §14.1.1.
RangeRequest resolve_range_spec(const RangeSpec& spec, uint64_t file_size) {
    // With an empty file there is no byte to point at, and Content-Range cannot express an
    // empty range, so every form is unsatisfiable.
    if (file_size == 0) return {RangeKind::unsatisfiable, {}};
    if (!spec.first) {
        uint64_t suffix = *spec.last;
        if (suffix == 0) return {RangeKind::unsatisfiable, {}};
        uint64_t length = std::min(suffix, file_size);
        return {RangeKind::single, {file_size - length, length}};
    }
    uint64_t first = *spec.first;
    if (first >= file_size) return {RangeKind::unsatisfiable, {}};
    uint64_t last = std::min(spec.last.value_or(kSaturated), file_size - 1);
    return {RangeKind::single, {first, last - first + 1}};
}

}  // namespace

RangeRequest parse_range_header(std::string_view value, uint64_t file_size) {
    value = trim_ows(value);
    size_t equals = value.find('=');
    if (equals == std::string_view::npos) return {};
    // Range units are case-insensitive (§14.1); "bytes" is the only one we know.
    if (!equals_ignoring_case(value.substr(0, equals), "bytes")) return {};
    auto specs = split_range_set(value.substr(equals + 1));
    // More than one range is ignored as a whole, see the header for why.
    if (!specs || specs->size() != 1) return {};
    auto spec = parse_range_spec(specs->front());
    if (!spec) return {};
    return resolve_range_spec(*spec, file_size);
}

std::string format_content_range(ByteRange r, uint64_t size) {
    return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.first + r.length - 1) + "/" +
           std::to_string(size);
}

std::string format_unsatisfied_range(uint64_t size) {
    return "bytes */" + std::to_string(size);
}

}  // namespace cgihost
