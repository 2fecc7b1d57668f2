// Text encodings the data samples need on top of HTML escaping (html.hpp): percent-encoding
// for URLs and header parameters, and JSON strings for the chat's API.
#pragma once

#include <string>
#include <string_view>

namespace samples {

// Percent-encodes every byte except RFC 3986's unreserved characters (ALPHA DIGIT - . _ ~),
// so the result is safe as one path segment or one query value.
std::string percent_encode(std::string_view text);

// RFC 8259 §7: `text` as a JSON string with its quotes. Control characters become \n, \t...
// or \u00XX; '<' and '>' become \u003c and \u003e too, so the string stays inert even if a
// careless client drops it into HTML.
std::string json_string(std::string_view text);

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates).
bool is_valid_utf8(std::string_view text);

// The number of code points in valid UTF-8 `text`: what a user counts as characters.
size_t count_code_points(std::string_view text);

}  // namespace samples
