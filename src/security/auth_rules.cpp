#include "security/auth_rules.hpp"

#include <unistd.h>

#include <cerrno>

#include "security/path_prefix.hpp"

namespace cgihost {

std::variant<AuthArea, std::string> parse_auth_area(std::string_view text) {
    const size_t equals = text.find('=');
    if (equals == std::string_view::npos || equals + 1 == text.size()) {
        return "'" + std::string(text) + "' is not PREFIX=HTPASSWD_FILE";
    }
    auto prefix = normalize_rule_prefix(text.substr(0, equals));
    if (!prefix) return "'" + std::string(text.substr(0, equals)) + "' is not a URL path";
    AuthArea area;
    area.prefix = *prefix;
    area.htpasswd_path = std::string(text.substr(equals + 1));
    return area;
}

namespace {

// The users already read from `path`, when this process may not read it now.
const Htpasswd* users_read_before(const std::string& path, const std::vector<AuthArea>* running) {
    if (running == nullptr || ::access(path.c_str(), R_OK) == 0 || errno != EACCES) return nullptr;
    for (const AuthArea& area : *running) {
        if (area.htpasswd_path == path) return &area.users;
    }
    return nullptr;
}

}  // namespace

std::variant<std::vector<AuthArea>, std::string> load_auth_areas(
    const std::vector<std::string>& specs, const std::function<void(const std::string&)>& warn,
    const std::vector<AuthArea>* running) {
    std::vector<AuthArea> areas;
    for (const std::string& spec : specs) {
        auto parsed = parse_auth_area(spec);
        if (auto* error = std::get_if<std::string>(&parsed)) return "--basic-auth: " + *error;
        AuthArea area = std::get<AuthArea>(std::move(parsed));
        for (const AuthArea& other : areas) {
            if (other.prefix == area.prefix) {
                return "--basic-auth: '" + area.prefix + "' is given twice";
            }
        }
        if (const Htpasswd* users = users_read_before(area.htpasswd_path, running)) {
            warn("--basic-auth '" + area.htpasswd_path +
                 "': not readable by the server's user; keeping the users read at startup "
                 "(a restart reads it again as root)");
            area.users = *users;
            areas.push_back(std::move(area));
            continue;
        }
        auto loaded = load_htpasswd(area.htpasswd_path);
        if (auto* error = std::get_if<std::string>(&loaded)) return "--basic-auth: " + *error;
        area.users = std::get<Htpasswd>(std::move(loaded));
        for (const std::string& line : area.users.refused)
            warn(line);
        areas.push_back(std::move(area));
    }
    return areas;
}

const AuthArea* find_auth_area(const std::vector<AuthArea>& areas, std::string_view path) {
    return find_longest_prefix(areas, path);
}

}  // namespace cgihost
