#include "security/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "server/log.hpp"

namespace cgihost {
namespace {

// ---- Deciding ------------------------------------------------------------------------------

// A user named by an option or a default, before its group is decided.
struct ResolvedUser {
    std::string name;  // "uid 1234" when the id has no passwd entry
    uid_t uid = 0;
    std::optional<gid_t> gid;  // the passwd entry's group
    bool has_entry = false;
};

using UserOutcome = std::variant<ResolvedUser, std::string>;

ResolvedUser from_entry(const UserEntry& entry) {
    return ResolvedUser{entry.name, entry.uid, entry.gid, true};
}

UserOutcome resolve_user(const char* flag, const AccountSpec& spec,
                         const AccountDatabase& accounts) {
    if (spec.numeric()) {
        auto uid = static_cast<uid_t>(*spec.id);
        if (auto entry = accounts.user_by_id(uid)) return from_entry(*entry);
        return ResolvedUser{"uid " + std::to_string(uid), uid, std::nullopt, false};
    }
    if (auto entry = accounts.user_by_name(spec.name)) return from_entry(*entry);
    return std::string(flag) + ": no such user '" + spec.name + "'";
}

std::variant<gid_t, std::string> resolve_group(const char* flag, const AccountSpec& spec,
                                               const AccountDatabase& accounts) {
    if (spec.numeric()) return static_cast<gid_t>(*spec.id);
    if (auto gid = accounts.group_by_name(spec.name)) return *gid;
    return std::string(flag) + ": no such group '" + spec.name + "'";
}

// Parses one option; an absent one gives nullopt, a malformed one an error.
std::variant<std::optional<AccountSpec>, std::string> parse_option(const char* flag,
                                                                   const std::string& text) {
    auto parsed = parse_account_spec(text);
    if (auto* error = std::get_if<std::string>(&parsed)) return std::string(flag) + ": " + *error;
    if (auto* spec = std::get_if<AccountSpec>(&parsed)) return std::optional<AccountSpec>(*spec);
    return std::optional<AccountSpec>();
}

struct IdentityRequest {
    const char* user_flag;
    const char* group_flag;
    const std::string& user_text;
    const std::string& group_text;
    const char* const* defaults;  // tried in order when user_text is empty
    size_t default_count;
    std::optional<uid_t> other_uid;  // the server's uid: scripts must not share it
};

// The user an IdentityRequest names, or the first default that exists (and differs from
// other_uid). Root is refused.
UserOutcome choose_user(const IdentityRequest& request, const AccountDatabase& accounts) {
    auto option = parse_option(request.user_flag, request.user_text);
    if (auto* error = std::get_if<std::string>(&option)) return *error;
    const auto& spec = std::get<std::optional<AccountSpec>>(option);
    if (!spec) {
        for (size_t i = 0; i < request.default_count; ++i) {
            auto entry = accounts.user_by_name(request.defaults[i]);
            if (entry && entry->uid != 0 && entry->uid != request.other_uid) {
                return from_entry(*entry);
            }
        }
        return std::string(request.user_flag) + ": no default user (" + request.defaults[0] + ", " +
               request.defaults[1] + ") exists that is not root or the server's own; " +
               "name one, or create " + request.defaults[0] + " (useradd --system " +
               request.defaults[0] + ")";
    }
    auto user = resolve_user(request.user_flag, *spec, accounts);
    if (auto* chosen = std::get_if<ResolvedUser>(&user)) {
        if (chosen->uid == 0) {
            return std::string(request.user_flag) +
                   ": cgihost refuses to run as root (uid 0); name an unprivileged user";
        }
        if (chosen->uid == request.other_uid) {
            return std::string(request.user_flag) + ": '" + request.user_text +
                   "' is the server's own user; scripts must run as a different one";
        }
    }
    return user;
}

std::variant<Identity, std::string> choose_identity(const IdentityRequest& request,
                                                    const AccountDatabase& accounts) {
    auto user_outcome = choose_user(request, accounts);
    if (auto* error = std::get_if<std::string>(&user_outcome)) return *error;
    const auto& user = std::get<ResolvedUser>(user_outcome);
    auto group_option = parse_option(request.group_flag, request.group_text);
    if (auto* error = std::get_if<std::string>(&group_option)) return *error;
    const auto& group_spec = std::get<std::optional<AccountSpec>>(group_option);
    Identity identity{user.name, user.uid, 0, {}};
    if (group_spec) {
        auto group = resolve_group(request.group_flag, *group_spec, accounts);
        if (auto* error = std::get_if<std::string>(&group)) return *error;
        identity.gid = std::get<gid_t>(group);
    } else if (user.gid) {
        identity.gid = *user.gid;
    } else {
        return std::string(request.user_flag) + ": " + user.name +
               " has no passwd entry; give its group with " + request.group_flag;
    }
    identity.groups = user.has_entry ? accounts.groups_of(user.name, identity.gid)
                                     : std::vector<gid_t>{identity.gid};
    if (identity.gid == 0 ||
        std::find(identity.groups.begin(), identity.groups.end(), 0) != identity.groups.end()) {
        return std::string(request.group_flag) + ": " + user.name +
               " would keep group root (gid 0); cgihost refuses it";
    }
    return identity;
}

std::string describe(const Identity& who) {
    return who.name + " (uid " + std::to_string(who.uid) + ", gid " + std::to_string(who.gid) + ")";
}

std::variant<PrivilegePlan, std::string> plan_as_root(const PrivilegeOptions& options,
                                                      const AccountDatabase& accounts) {
    PrivilegePlan plan;
    plan.drop = true;
    plan.switch_scripts = true;
    auto server =
        choose_identity({"--user", "--group", options.user, options.group, kDefaultServerUsers,
                         std::size(kDefaultServerUsers), std::nullopt},
                        accounts);
    if (auto* error = std::get_if<std::string>(&server)) return *error;
    plan.server = std::get<Identity>(server);
    auto scripts =
        choose_identity({"--cgi-user", "--cgi-group", options.cgi_user, options.cgi_group,
                         kDefaultScriptUsers, std::size(kDefaultScriptUsers), plan.server.uid},
                        accounts);
    if (auto* error = std::get_if<std::string>(&scripts)) return *error;
    plan.scripts = std::get<Identity>(scripts);
    if (plan.scripts.gid == plan.server.gid) {
        return "--cgi-group: scripts must not share the server's group (gid " +
               std::to_string(plan.server.gid) + ")";
    }
    if (options.user.empty()) {
        plan.notes.push_back("started as root without --user: the server runs as " +
                             plan.server.name);
    }
    plan.notes.push_back("running as " + describe(plan.server) + " once sockets and logs are " +
                         "open; scripts run as " + describe(plan.scripts));
    return plan;
}

// An ordinary user cannot change users: each option may only name who we already are.
std::variant<PrivilegePlan, std::string> plan_as_user(const PrivilegeOptions& options, uid_t euid,
                                                      gid_t egid, const AccountDatabase& accounts) {
    PrivilegePlan plan;
    auto entry = accounts.user_by_id(euid);
    plan.server = Identity{entry ? entry->name : "uid " + std::to_string(euid), euid, egid, {}};
    plan.scripts = plan.server;
    const std::pair<const char*, const std::string*> users[] = {{"--user", &options.user},
                                                                {"--cgi-user", &options.cgi_user}};
    for (const auto& [flag, text] : users) {
        auto option = parse_option(flag, *text);
        if (auto* error = std::get_if<std::string>(&option)) return *error;
        const auto& spec = std::get<std::optional<AccountSpec>>(option);
        if (!spec) continue;
        auto user = resolve_user(flag, *spec, accounts);
        if (auto* error = std::get_if<std::string>(&user)) return *error;
        if (std::get<ResolvedUser>(user).uid != euid) {
            return std::string(flag) + ": only root can change users (cgihost runs as " +
                   describe(plan.server) + ")";
        }
    }
    const std::pair<const char*, const std::string*> groups[] = {
        {"--group", &options.group}, {"--cgi-group", &options.cgi_group}};
    for (const auto& [flag, text] : groups) {
        auto option = parse_option(flag, *text);
        if (auto* error = std::get_if<std::string>(&option)) return *error;
        const auto& spec = std::get<std::optional<AccountSpec>>(option);
        if (!spec) continue;
        auto group = resolve_group(flag, *spec, accounts);
        if (auto* error = std::get_if<std::string>(&group)) return *error;
        if (std::get<gid_t>(group) != egid) {
            return std::string(flag) + ": only root can change groups (cgihost runs as " +
                   describe(plan.server) + ")";
        }
    }
    plan.notes.push_back("running as " + describe(plan.server) +
                         ", not root: scripts run as the same user");
    return plan;
}

bool valid_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

// ---- Acting --------------------------------------------------------------------------------

int last_capability() {
    std::ifstream in("/proc/sys/kernel/cap_last_cap");
    int last = CAP_LAST_CAP;
    in >> last;
    return last;
}

// Takes every capability the server does not keep out of the bounding set, so that no
// program a script runs (a set-user-ID root one included) can get them back. Needs
// CAP_SETPCAP; without it (some containers) the bounding set stays as it was.
void narrow_bounding_set() {
    for (int capability = 0; capability <= last_capability(); ++capability) {
        if ((kKeptCapabilities & capability_bit(capability)) == 0) {
            (void)::prctl(PR_CAPBSET_DROP, capability, 0, 0, 0);
        }
    }
}

std::string failed(const std::string& what) {
    return "dropping privileges: " + what + ": " + std::strerror(errno);
}

std::string verify_drop(const PrivilegePlan& plan) {
    uid_t ruid = 0, euid = 0, suid = 0;
    gid_t rgid = 0, egid = 0, sgid = 0;
    ::getresuid(&ruid, &euid, &suid);
    ::getresgid(&rgid, &egid, &sgid);
    const Identity& who = plan.server;
    if (ruid != who.uid || euid != who.uid || suid != who.uid || rgid != who.gid ||
        egid != who.gid || sgid != who.gid) {
        return "dropping privileges: the ids did not all change";
    }
    // A raw call, so that if it ever succeeded it would affect this thread only (and we stop).
    if (::syscall(SYS_setresuid, 0, 0, 0) == 0 || ::syscall(SYS_setresgid, 0, 0, 0) == 0) {
        return "dropping privileges: setuid(0) still succeeds after the drop";
    }
    uint64_t permitted = 0, effective = 0;
    if (get_capabilities(permitted, effective) != 0) return failed("capget");
    const uint64_t expected = plan.switch_scripts ? kKeptCapabilities : 0;
    if ((permitted & ~expected) != 0 || (effective & ~capability_bit(CAP_KILL)) != 0) {
        return "dropping privileges: capabilities beyond CAP_KILL, CAP_SETUID, CAP_SETGID remain";
    }
    return {};
}

}  // namespace

std::variant<std::monostate, AccountSpec, std::string> parse_account_spec(std::string_view text) {
    if (text.empty()) return std::monostate{};
    if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        unsigned id = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
        // (uid_t)-1 means "unchanged" to setresuid: never a real id.
        if (ec != std::errc() || end != text.data() + text.size() || id == ~0U) {
            return "'" + std::string(text) + "' is out of range";
        }
        return AccountSpec{{}, id};
    }
    if (text.size() > 32 || text.front() == '-' ||
        !std::all_of(text.begin(), text.end(), valid_name_char)) {
        return "'" + std::string(text) + "' is not a user or group name or a numeric id";
    }
    return AccountSpec{std::string(text), std::nullopt};
}

std::variant<PrivilegePlan, std::string> plan_privileges(const PrivilegeOptions& options,
                                                         uid_t euid, gid_t egid,
                                                         const AccountDatabase& accounts) {
    if (euid == 0) return plan_as_root(options, accounts);
    return plan_as_user(options, euid, egid, accounts);
}

bool access_allows(const struct stat& st, const Identity& who, int mode) {
    unsigned shift = 0;  // "other" bits
    if (st.st_uid == who.uid) {
        shift = 6;
    } else if (st.st_gid == who.gid ||
               std::find(who.groups.begin(), who.groups.end(), st.st_gid) != who.groups.end()) {
        shift = 3;
    }
    const unsigned granted = (st.st_mode >> shift) & 7U;
    const unsigned wanted =
        ((mode & R_OK) ? 4U : 0U) | ((mode & W_OK) ? 2U : 0U) | ((mode & X_OK) ? 1U : 0U);
    return (granted & wanted) == wanted;
}

// ---- SystemAccounts ------------------------------------------------------------------------

namespace {
std::optional<UserEntry> to_entry(const passwd* pw) {
    if (pw == nullptr) return std::nullopt;
    return UserEntry{pw->pw_name, pw->pw_uid, pw->pw_gid};
}
}  // namespace

// Startup only, one thread: the non-reentrant lookups are fine here.
std::optional<UserEntry> SystemAccounts::user_by_name(const std::string& name) const {
    return to_entry(::getpwnam(name.c_str()));  // NOLINT(concurrency-mt-unsafe)
}

std::optional<UserEntry> SystemAccounts::user_by_id(uid_t uid) const {
    return to_entry(::getpwuid(uid));  // NOLINT(concurrency-mt-unsafe)
}

std::optional<gid_t> SystemAccounts::group_by_name(const std::string& name) const {
    const group* gr = ::getgrnam(name.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (gr == nullptr) return std::nullopt;
    return gr->gr_gid;
}

std::vector<gid_t> SystemAccounts::groups_of(const std::string& name, gid_t primary) const {
    int count = 16;
    std::vector<gid_t> groups(static_cast<size_t>(count));
    while (::getgrouplist(name.c_str(), primary, groups.data(), &count) < 0) {
        groups.resize(static_cast<size_t>(count));
    }
    groups.resize(static_cast<size_t>(count));
    return groups;
}

// ---- Acting --------------------------------------------------------------------------------

int set_capabilities(uint64_t permitted, uint64_t effective) noexcept {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    data[0].permitted = static_cast<uint32_t>(permitted);
    data[1].permitted = static_cast<uint32_t>(permitted >> 32);
    data[0].effective = static_cast<uint32_t>(effective);
    data[1].effective = static_cast<uint32_t>(effective >> 32);
    return static_cast<int>(::syscall(SYS_capset, &header, data));
}

int get_capabilities(uint64_t& permitted, uint64_t& effective) noexcept {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &header, data) != 0) return -1;
    permitted = data[0].permitted | (uint64_t{data[1].permitted} << 32);
    effective = data[0].effective | (uint64_t{data[1].effective} << 32);
    return 0;
}

std::string check_reachable(const std::string& path, const Identity& who, int mode) {
    std::error_code error;
    auto absolute = std::filesystem::canonical(path, error);
    if (error) return "cannot resolve '" + path + "': " + error.message();
    std::filesystem::path walked = "/";
    for (const auto& part : absolute.relative_path()) {
        struct stat st {};
        if (::stat(walked.c_str(), &st) != 0) return walked.string() + ": " + std::strerror(errno);
        if (!access_allows(st, who, X_OK)) {
            return walked.string() + " is not searchable by " + who.name + " (mode " +
                   std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                   std::to_string(st.st_mode & 7) + ", owner uid " + std::to_string(st.st_uid) +
                   ")";
        }
        walked /= part;
    }
    struct stat st {};
    if (::stat(absolute.c_str(), &st) != 0) return absolute.string() + ": " + std::strerror(errno);
    if (!access_allows(st, who, mode)) {
        return absolute.string() + " is not " + ((mode & W_OK) ? "writable" : "readable") + " by " +
               who.name;
    }
    return {};
}

namespace {

// Started as root, the log files were opened (and handed to us) before the drop; a file that
// logrotate moves away is recreated on SIGHUP by us, so say now if we cannot.
void warn_about_log_directories(const Identity& who, Logger& logger) {
    for (const std::string& path : logger.file_paths()) {
        if (path.empty() || path == "-") continue;
        auto directory = std::filesystem::absolute(path).parent_path();
        if (::access(directory.c_str(), W_OK | X_OK) != 0) {
            logger.warn("log directory " + directory.string() + " is not writable by " + who.name +
                        ": SIGHUP can reopen " + path +
                        " only if the file is already there (logrotate's 'create') or was "
                        "not moved (copytruncate)");
        }
    }
}

std::string become_server_user(const PrivilegePlan& plan, Logger& logger) {
    if (!plan.drop) return {};
    const Identity& who = plan.server;
    if (auto error = logger.change_owner(who.uid, who.gid); !error.empty()) return error;
    narrow_bounding_set();
    // Keep the permitted set across setresuid (this thread only; the log flusher loses all).
    if (plan.switch_scripts && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
        return failed("PR_SET_KEEPCAPS");
    }
    // glibc applies these three to every thread of the process.
    if (::setgroups(who.groups.size(), who.groups.data()) != 0) return failed("setgroups");
    if (::setresgid(who.gid, who.gid, who.gid) != 0) return failed("setresgid");
    if (::setresuid(who.uid, who.uid, who.uid) != 0) return failed("setresuid");
    const uint64_t permitted = plan.switch_scripts ? kKeptCapabilities : 0;
    const uint64_t effective = plan.switch_scripts ? capability_bit(CAP_KILL) : 0;
    if (set_capabilities(permitted, effective) != 0) return failed("capset");
    (void)::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    // Nobody but root may read our memory, environment or descriptors through /proc, even
    // processes of our own user, and we never dump core.
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return failed("PR_SET_DUMPABLE");
    return verify_drop(plan);
}

}  // namespace

std::string drop_privileges(const PrivilegePlan& plan, Logger& logger) {
    if (auto error = become_server_user(plan, logger); !error.empty()) return error;
    for (const auto& note : plan.notes)
        logger.info(note);
    if (plan.drop) warn_about_log_directories(plan.server, logger);
    return {};
}

}  // namespace cgihost
