// Escaping text for HTML element content and attribute values.
#pragma once

#include <string>
#include <string_view>

namespace cgihost {

// Replaces & < > " ' with character references, so the result is safe both as element
// content and inside a quoted attribute value.
std::string html_escape(std::string_view text);

}  // namespace cgihost
