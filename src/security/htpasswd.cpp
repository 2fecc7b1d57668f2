#include "security/htpasswd.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "http/http_message.hpp"
#include "security/password_hash.hpp"

namespace cgihost {
namespace {

bool is_blank(std::string_view line) {
    return line.find_first_not_of(" \t") == std::string_view::npos;
}

bool has_control_byte(std::string_view text) {
    for (char c : text) {
        if (is_control_byte(c)) return true;
    }
    return false;
}

}  // namespace

std::variant<Htpasswd, std::string> parse_htpasswd(std::string_view text, std::string_view origin) {
    Htpasswd file;
    size_t line_number = 0;
    while (!text.empty()) {
        std::string_view line = text.substr(0, text.find('\n'));
        text.remove_prefix(std::min(text.size(), line.size() + 1));
        ++line_number;
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (is_blank(line) || line.find_first_not_of(" \t") == line.find('#')) continue;
        const std::string where = std::string(origin) + ":" + std::to_string(line_number) + ": ";
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos) return where + "not user:hash";
        std::string_view user = line.substr(0, colon);
        // As Apache's mod_authn_file: the hash ends at the next colon, later fields are ignored.
        std::string_view hash = line.substr(colon + 1);
        hash = hash.substr(0, hash.find(':'));
        if (user.empty() || hash.empty()) return where + "an empty user name or hash";
        if (has_control_byte(line)) return where + "a control character";
        if (file.users.contains(user)) return where + "user '" + std::string(user) + "' again";
        const PasswordScheme scheme = identify_password_hash(hash);
        if (!scheme.accepted) {
            file.refused.push_back(where + "user '" + std::string(user) + "' has a " +
                                   std::string(scheme.name) +
                                   " password, which is refused; that user cannot log in "
                                   "(use htpasswd -B)");
            continue;
        }
        file.users.emplace(user, hash);
    }
    return file;
}

std::variant<Htpasswd, std::string> load_htpasswd(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "cannot read '" + path + "': " + std::strerror(errno);
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return "cannot read '" + path + "'";
    return parse_htpasswd(text.str(), path);
}

}  // namespace cgihost
