// Least privilege: who the server runs as after it has bound its sockets and opened its logs,
// and who its scripts run as. Deciding (plan_privileges, access_allows) is pure and unit-tested
// against a fake account database; acting (drop_privileges, check_reachable) touches the
// process and the file system once, at startup, before any worker thread exists.
//
// Started as root, cgihost becomes --user (default www-data, else nobody) and runs scripts as
// --cgi-user (default cgihost-cgi, else nobody), never the same user and never root. The
// server keeps CAP_KILL (to signal its scripts' process groups) and, only in its permitted
// set, CAP_SETUID and CAP_SETGID, which the child raises for the moment it takes the scripts'
// identity (see cgi_process.cpp). Started as anyone else, it runs scripts as itself.
#pragma once

#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cgihost {

class Logger;

// "www-data" or "33": a name, or a numeric id as chown(1) takes it.
struct AccountSpec {
    std::string name;  // empty when numeric
    std::optional<unsigned> id;
    bool numeric() const { return id.has_value(); }
};

// "" → nullopt with no error (not given); "123" → id; a POSIX-portable name → name.
// Returns an error message for anything else ("a b", "-x", "1x").
std::variant<std::monostate, AccountSpec, std::string> parse_account_spec(std::string_view text);

// A user as the account database knows it.
struct UserEntry {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

// The lookups the decision needs. SystemAccounts reads the real database (getpwnam_r & co.);
// tests pass a fake one.
class AccountDatabase {
  public:
    virtual ~AccountDatabase() = default;
    virtual std::optional<UserEntry> user_by_name(const std::string& name) const = 0;
    virtual std::optional<UserEntry> user_by_id(uid_t uid) const = 0;
    virtual std::optional<gid_t> group_by_name(const std::string& name) const = 0;
    // The user's supplementary groups (getgrouplist), `primary` included.
    virtual std::vector<gid_t> groups_of(const std::string& name, gid_t primary) const = 0;
};

class SystemAccounts : public AccountDatabase {
  public:
    std::optional<UserEntry> user_by_name(const std::string& name) const override;
    std::optional<UserEntry> user_by_id(uid_t uid) const override;
    std::optional<gid_t> group_by_name(const std::string& name) const override;
    std::vector<gid_t> groups_of(const std::string& name, gid_t primary) const override;
};

// A resolved identity: everything setgroups/setresgid/setresuid need, so that nothing is
// looked up after startup (and never in a child between fork and exec).
struct Identity {
    std::string name;  // for messages: "www-data", or "uid 1234" without a passwd entry
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary groups, set with setgroups
};

// What the four options say (as given; empty = not given).
struct PrivilegeOptions {
    std::string user;
    std::string group;
    std::string cgi_user;
    std::string cgi_group;
};

struct PrivilegePlan {
    bool drop = false;            // started as root: become `server` once sockets and logs are open
    Identity server;              // who the server runs as (when !drop: who it already is)
    bool switch_scripts = false;  // scripts take `scripts`' identity between fork and exec
    Identity scripts;             // when !switch_scripts: the server's own identity
    std::vector<std::string> notes;  // said once in the startup log
};

// The default users, in order of preference.
inline constexpr const char* kDefaultServerUsers[] = {"www-data", "nobody"};
inline constexpr const char* kDefaultScriptUsers[] = {"cgihost-cgi", "nobody"};

// Decides who runs what. `euid`/`egid` are the process's own ids. Returns the plan or a
// configuration error line ("--user: cgihost refuses to run as root").
std::variant<PrivilegePlan, std::string> plan_privileges(const PrivilegeOptions& options,
                                                         uid_t euid, gid_t egid,
                                                         const AccountDatabase& accounts);

// Whether `who` may access (R_OK, W_OK, X_OK bits) a file with this owner and mode, by the
// owner/group/other bits alone (ACLs are not consulted; `who` is never root).
bool access_allows(const struct stat& st, const Identity& who, int mode);

// Checks that `who` can reach `path` (search permission on every directory above it) and
// access it with `mode`. Returns "" or the reason, naming the first directory in the way
// ("/root (drwx------ root:root) is not searchable by www-data").
std::string check_reachable(const std::string& path, const Identity& who, int mode);

constexpr uint64_t capability_bit(int capability) {
    return uint64_t{1} << capability;
}
// What the child raises (from the server's permitted set) to take the scripts' identity.
inline constexpr uint64_t kSetIdCapabilities =
    capability_bit(CAP_SETUID) | capability_bit(CAP_SETGID);
// What the server keeps once it is no longer root: those two, permitted only, and CAP_KILL,
// effective, to signal the process groups of scripts that run as another user.
inline constexpr uint64_t kKeptCapabilities = kSetIdCapabilities | capability_bit(CAP_KILL);

// capset/capget on the calling thread, as raw system calls: async-signal-safe, so a child
// between vfork and exec may use them. Return 0 or -1 with errno.
int set_capabilities(uint64_t permitted, uint64_t effective) noexcept;
int get_capabilities(uint64_t& permitted, uint64_t& effective) noexcept;

// Carries out the plan. Started as root: hands the log files to the server user, drops every
// capability from the bounding set but the three kept, becomes plan.server, keeps CAP_KILL
// (and CAP_SETUID/CAP_SETGID permitted only) when scripts switch users, becomes
// non-dumpable, and verifies that setuid(0) now fails. Must run before the worker threads
// exist (they inherit the result). Then logs the plan's notes and warns about log
// directories it cannot recreate files in. Returns "" or an error line.
std::string drop_privileges(const PrivilegePlan& plan, Logger& logger);

}  // namespace cgihost
