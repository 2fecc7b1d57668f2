// Percent-encoding as RFC 3986 §2.1 defines it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cgihost {

// Decodes %XX escapes once. Returns nullopt when a '%' is not followed by two hex digits
// (RFC 3986 §2.1); '+' is left alone because it only means space in form data.
std::optional<std::string> percent_decode(std::string_view text);

// Decodes application/x-www-form-urlencoded text: '+' is a space, invalid escapes stay as-is.
std::string form_decode(std::string_view text);

// Encodes every byte outside RFC 3986 "unreserved" plus the sub-delims that are safe inside a
// path segment, so the result can be put between two '/' of a URL path.
std::string percent_encode_path_segment(std::string_view segment);

}  // namespace cgihost
