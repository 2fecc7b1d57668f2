// A strict, bounded JSON reader (RFC 8259) for answers from a server we do not trust: UTF-8
// only, no duplicate keys, no trailing bytes, a depth limit, and \uXXXX escapes (surrogate
// pairs joined, lone surrogates refused). Pure: bytes in, a value or one error line out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cgihost::chat_client {

struct JsonMember;

struct JsonValue {
    enum class Kind { null, boolean, number, string, array, object };

    Kind kind = Kind::null;
    bool boolean = false;
    std::string text;  // a string's decoded UTF-8, or a number's literal as written
    std::vector<JsonValue> items;
    std::vector<JsonMember> members;  // in document order

    // The member named `key` of an object; nullptr when absent or not an object.
    const JsonValue* find(std::string_view key) const;
};

struct JsonMember {
    std::string name;
    JsonValue value;
};

struct JsonLimits {
    size_t max_bytes = size_t{4} * 1024 * 1024;
    size_t max_depth = 32;  // nested arrays and objects
};

struct JsonParseResult {
    std::optional<JsonValue> value;
    std::string error;  // set when value is not: what was wrong and at which byte
};

JsonParseResult parse_json(std::string_view text, const JsonLimits& limits = {});

// A number literal that is a plain non-negative integer fitting in 64 bits ("12", not "1e1",
// "-0" or "1.0").
std::optional<uint64_t> json_to_uint64(const JsonValue& value);
// The same for a possibly negative integer.
std::optional<int64_t> json_to_int64(const JsonValue& value);

}  // namespace cgihost::chat_client
