// application/x-www-form-urlencoded bodies, as a browser's form submits them (HTML Living
// Standard, "URL-encoded form data"): unreserved bytes as they are, space as '+', every other
// byte as %XX. Pure.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cgihost::chat_client {

std::string encode_form_component(std::string_view text);

// "name=value&name=value", each side encoded.
std::string encode_form(const std::vector<std::pair<std::string_view, std::string_view>>& fields);

}  // namespace cgihost::chat_client
