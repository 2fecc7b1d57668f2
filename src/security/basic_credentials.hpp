// The Basic authentication scheme (RFC 7617): reading the credentials of an Authorization
// header and writing the challenge of a 401. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cgihost {

struct BasicCredentials {
    std::string user;
    std::string password;
};

// RFC 7617 §2: `Basic` (any case), one or more spaces, then base64 (RFC 4648 §4, padded as it
// must be) of user-id ":" password, split at the first colon. UTF-8 is allowed (§2.1); a
// control character is not (§2). nullopt for another scheme or anything malformed.
std::optional<BasicCredentials> parse_basic_authorization(std::string_view value);

// The WWW-Authenticate value of a 401: `Basic realm="…", charset="UTF-8"` (RFC 7617 §2.1),
// the realm as a quoted-string (RFC 9110 §5.6.4).
std::string make_basic_challenge(std::string_view realm);

// Strict base64 (RFC 4648 §4): the standard alphabet, padding to a multiple of four, no
// whitespace, zero bits after the last symbol. nullopt otherwise.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace cgihost
