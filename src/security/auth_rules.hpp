// --basic-auth PREFIX=HTPASSWD_FILE: the parts of the site that need a user and password, each
// with its own password file. The longest prefix covering a request's path decides.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "security/htpasswd.hpp"

namespace cgihost {

struct AuthArea {
    std::string prefix;         // normalised (path_prefix.hpp)
    std::string htpasswd_path;  // as configured
    Htpasswd users;             // filled by load_auth_areas
};

// "PREFIX=FILE" → an area with no users yet, or an error message. Pure.
std::variant<AuthArea, std::string> parse_auth_area(std::string_view text);

// Parses every spec and reads each file. `warn` receives a line per refused entry. Returns the
// areas, or the first error ("--basic-auth '/x=f': …"). On a reload, `running` holds the areas
// in force: a file this process may no longer read (EACCES: it was read as root at startup,
// and is root's alone) keeps the users read then for the same path, with a warning.
std::variant<std::vector<AuthArea>, std::string> load_auth_areas(
    const std::vector<std::string>& specs, const std::function<void(const std::string&)>& warn,
    const std::vector<AuthArea>* running = nullptr);

// The area whose prefix covers `path` (normalised) and is longest; nullptr when none does.
const AuthArea* find_auth_area(const std::vector<AuthArea>& areas, std::string_view path);

}  // namespace cgihost
