// htpasswd files as Apache's `htpasswd` writes them: one `user:hash` per line (fields after
// the hash ignored, as mod_authn_file does), '#' comments and blank lines ignored. Parsing is
// pure; load_htpasswd reads the file (at startup, as root, before the privilege drop).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cgihost {

struct Htpasswd {
    std::map<std::string, std::string, std::less<>> users;  // user → hash (accepted schemes)
    // One line per entry whose scheme is refused (password_hash.hpp): such a user cannot log
    // in, and the server says so at startup rather than at the first 401.
    std::vector<std::string> refused;
};

// `origin` names the file in messages ("/etc/site.htpasswd:3: ..."). A malformed line (no
// colon, an empty user or hash, a user named twice) is an error naming its line number.
std::variant<Htpasswd, std::string> parse_htpasswd(std::string_view text, std::string_view origin);

// Reads and parses `path`; an unreadable file is an error too.
std::variant<Htpasswd, std::string> load_htpasswd(const std::string& path);

}  // namespace cgihost
