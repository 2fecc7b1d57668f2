// Least privilege against the real binary (src/privileges.hpp): started as root, cgihost runs
// as --user once it has bound and opened its logs, and its scripts run as --cgi-user, which
// can neither read the server's memory or environment, nor write its logs, nor signal it,
// nor read what only root may. The test CGI's `probe-privileges` tries each of these from
// inside a script. These tests need root (CI runs them as root); otherwise they are skipped.
#include <gmock/gmock.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cgi_fixture.hpp"

namespace cgihost::testing {
namespace {

// A uid that owns no process on a test machine, for a server started as an ordinary user.
constexpr uid_t kOrdinaryUid = 64124;

// CAP_KILL (5), CAP_SETGID (6), CAP_SETUID (7), as /proc/PID/status shows capability sets.
constexpr const char* kOnlyKill = "0000000000000020";
constexpr const char* kKillAndSetIds = "00000000000000e0";
constexpr const char* kNone = "0000000000000000";

struct Account {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

std::optional<Account> account(const char* name) {
    const passwd* entry = ::getpwnam(name);
    if (entry == nullptr) return std::nullopt;
    return Account{entry->pw_name, entry->pw_uid, entry->pw_gid};
}

// Fields of /proc/PID/status ("Uid", "CapEff"...), their value with the tabs as spaces.
std::map<std::string, std::string> process_status(pid_t pid) {
    std::map<std::string, std::string> fields;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string value = line.substr(colon + 1);
        std::replace(value.begin(), value.end(), '\t', ' ');
        value.erase(0, value.find_first_not_of(' '));
        value.erase(value.find_last_not_of(' ') + 1);
        fields[line.substr(0, colon)] = value;
    }
    return fields;
}

std::string ids(unsigned id) {
    const std::string text = std::to_string(id);
    return text + " " + text + " " + text;
}

class Privileges : public CgiTest {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root: only root can change users";
        auto www = account("www-data");
        auto nobody = account("nobody");
        if (!www || !nobody) GTEST_SKIP() << "needs the users www-data and nobody";
        server_user_ = *www;
        script_user_ = *nobody;
    }

    void start_as_users(std::vector<std::string> extra = {}) {
        extra.insert(extra.end(), {"--user", server_user_.name, "--cgi-user", script_user_.name});
        start(extra);
    }

    std::string access_log_path() const { return (server_->log_dir() / "access.log").string(); }
    std::string error_log_path() const { return (server_->log_dir() / "error.log").string(); }

    Account server_user_;
    Account script_user_;
};

TEST_F(Privileges, AServerStartedAsRootRunsAsTheUserGivenWithOnlyCapKillEffective) {
    start({"--user", "nobody", "--cgi-user", "www-data"});
    auto status = process_status(server_->pid());
    EXPECT_EQ(status["Uid"], ids(script_user_.uid) + " " + std::to_string(script_user_.uid));
    EXPECT_EQ(status["Gid"], ids(script_user_.gid) + " " + std::to_string(script_user_.gid));
    EXPECT_EQ(status["Groups"], std::to_string(script_user_.gid));
    EXPECT_EQ(status["CapEff"], kOnlyKill) << "setuid(0) must fail: no CAP_SETUID in effect";
    EXPECT_EQ(status["CapPrm"], kKillAndSetIds);
    EXPECT_EQ(status["CapBnd"], kKillAndSetIds);
    EXPECT_EQ(status["CapInh"], kNone);
    EXPECT_EQ(status["CapAmb"], kNone);
    EXPECT_TRUE(error_log_contains("running as nobody (uid " + std::to_string(script_user_.uid)));
    // Started as root, nothing of ours is readable through /proc by anyone but root.
    struct stat st {};
    ASSERT_EQ(::stat(("/proc/" + std::to_string(server_->pid()) + "/environ").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u) << "not PR_SET_DUMPABLE 0";
    auto response = get("/index.html");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
}

TEST_F(Privileges, StartedAsRootWithoutUserItRunsAsWwwDataAndSaysSo) {
    start();
    auto status = process_status(server_->pid());
    EXPECT_EQ(status["Uid"], ids(server_user_.uid) + " " + std::to_string(server_user_.uid));
    EXPECT_TRUE(error_log_contains("started as root without --user: the server runs as www-data"));
    // The scripts' default: the dedicated user scripts/serve creates, else nobody.
    auto expected = account("cgihost-cgi").value_or(script_user_);
    EXPECT_TRUE(error_log_contains("scripts run as " + expected.name + " (uid " +
                                   std::to_string(expected.uid)));
    auto lines = fetch_lines("/cgi-bin/t?probe-privileges");
    EXPECT_EQ(lines["uid"], ids(expected.uid));
}

// A small file the server holds in memory is served from there only while it is unchanged,
// st_ctime included: once its mode shuts the server's user out, the answer is 403, as a fresh
// look at the disk gives, and the bytes in memory are not sent.
TEST_F(Privileges, AFileMadeUnreadableToTheServerUserIsNoLongerServedFromMemory) {
    site_.write_file("www/later.txt", "readable for now\n");
    const auto file = std::filesystem::path(site_.file("www/later.txt"));
    std::filesystem::permissions(file, std::filesystem::perms(0644));
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // settled: it may be cached
    start_as_users();
    for (int i = 0; i < 3; ++i) {  // the first remembers it, the next come from memory
        auto response = get("/later.txt");
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 200);
    }
    std::filesystem::permissions(file, std::filesystem::perms(0600));  // root's alone
    auto refused = get("/later.txt");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403);
    EXPECT_EQ(refused->body.find("readable for now"), std::string::npos);
    std::filesystem::permissions(file, std::filesystem::perms(0644));
    auto again = get("/later.txt");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200);
}

TEST_F(Privileges, ScriptsRunAsTheCgiUserWithNoCapabilityAndNoGroupOfTheServer) {
    start_as_users();
    auto lines = fetch_lines("/cgi-bin/t?probe-privileges");
    EXPECT_EQ(lines["uid"], ids(script_user_.uid));
    EXPECT_EQ(lines["gid"], ids(script_user_.gid));
    EXPECT_EQ(lines["groups"], std::to_string(script_user_.gid));
    EXPECT_EQ(lines["cap_prm"], kNone);
    EXPECT_EQ(lines["cap_eff"], kNone);
}

TEST_F(Privileges, AScriptCannotReadShadowNorTheServersEnvironmentOrMemoryNorSignalIt) {
    start_as_users();
    auto lines = fetch_lines("/cgi-bin/t?probe-privileges");
    EXPECT_THAT(lines["shadow"], ::testing::StartsWith("denied"));
    EXPECT_THAT(lines["environ"], ::testing::StartsWith("denied"));
    EXPECT_THAT(lines["mem"], ::testing::StartsWith("denied"));
    EXPECT_THAT(lines["kill"], ::testing::StartsWith("denied"));
}

TEST_F(Privileges, AScriptCannotAppendToEitherLog) {
    start_as_users();
    for (const auto& log : {access_log_path(), error_log_path()}) {
        SCOPED_TRACE(log);
        auto lines = fetch_lines("/cgi-bin/t?append=" + encode_query(log));
        EXPECT_THAT(lines["append"], ::testing::StartsWith("denied"));
    }
    EXPECT_EQ(server_->access_log().find("forged line"), std::string::npos);
    EXPECT_EQ(server_->error_log().find("forged line"), std::string::npos);
}

// The control for the four tests above: the probe does see what a script sharing the
// server's user may do. An ordinary user cannot switch users, so its scripts run as itself.
TEST_F(Privileges, StartedAsAnOrdinaryUserScriptsRunAsItAndCouldTouchTheServer) {
    const std::string id = std::to_string(kOrdinaryUid);
    start({}, {"setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups", "--"});
    EXPECT_TRUE(error_log_contains("not root: scripts run as the same user"));
    auto lines = fetch_lines("/cgi-bin/t?probe-privileges");
    EXPECT_EQ(lines["uid"], ids(kOrdinaryUid));
    EXPECT_EQ(lines["kill"], "allowed");
    EXPECT_EQ(lines["environ"], "allowed");
    EXPECT_THAT(lines["shadow"], ::testing::StartsWith("denied"));
    auto appended = fetch_lines("/cgi-bin/t?append=" + encode_query(access_log_path()));
    EXPECT_EQ(appended["append"], "allowed");
}

TEST_F(Privileges, LogsOpenedAsRootBelongToTheServerUserAndReopenAfterTheDrop) {
    start_as_users();
    ASSERT_TRUE(get("/index.html?before"));
    for (const auto& log : {access_log_path(), error_log_path()}) {
        struct stat st {};
        ASSERT_EQ(::stat(log.c_str(), &st), 0) << log;
        EXPECT_EQ(st.st_uid, server_user_.uid) << log;
        EXPECT_EQ(st.st_mode & 0777, 0640u) << log;
    }
    const std::string rotated = access_log_path() + ".1";
    ASSERT_TRUE(wait_until([&] { return !read_file(access_log_path()).empty(); }, 3000ms));
    std::filesystem::rename(access_log_path(), rotated);
    ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
    ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(access_log_path()); }, 5000ms));
    ASSERT_TRUE(get("/index.html?after"));
    EXPECT_TRUE(wait_until(
        [&] { return read_file(access_log_path()).find("?after") != std::string::npos; }, 3000ms));
    struct stat st {};
    ASSERT_EQ(::stat(access_log_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, server_user_.uid) << "recreated by the server after the drop";
}

TEST_F(Privileges, StillStopsScriptsOfAnotherUserThatIgnoreSigterm) {
    start_as_users({"--cgi-timeout", "0.5", "--cgi-kill-grace", "0.2"});
    auto response = get("/cgi-bin/t?ignore-sigterm&spin");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 504);
    EXPECT_TRUE(all_children_gone(5000ms)) << "CAP_KILL did not reach the script's group";
}

TEST_F(Privileges, RefusesRootAndASharedIdentityWithAConfigError) {
    const std::vector<std::vector<std::string>> refused{
        {"--user", "root"},
        {"--user", "0"},
        {"--user", "www-data", "--cgi-user", "root"},
        {"--user", "www-data", "--cgi-user", "www-data"},
        {"--user", "www-data", "--group", "root"},
        {"--user", "no-such-user-here"},
    };
    for (auto args : refused) {
        SCOPED_TRACE(args[0] + " " + args[1] + (args.size() > 2 ? " " + args[3] : ""));
        args.insert(args.end(), {"--docroot", docroot().string(), "--listen", "127.0.0.1:0"});
        auto result = run_cgihost(args);
        EXPECT_EQ(result.exit_status, 2);
        EXPECT_EQ(result.err.rfind("cgihost: error: --", 0), 0u) << result.err;
        EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    }
}

TEST_F(Privileges, RefusesADocrootTheServerUserCannotReach) {
    auto hidden = site_ / "private";
    std::filesystem::create_directories(hidden / "www");
    std::filesystem::permissions(hidden, std::filesystem::perms(0700));
    auto result = run_cgihost({"--docroot", (hidden / "www").string(), "--user", "www-data",
                               "--cgi-user", "nobody", "--listen", "127.0.0.1:0"});
    EXPECT_EQ(result.exit_status, 2);
    EXPECT_THAT(result.err,
                ::testing::HasSubstr(hidden.string() + " is not searchable by www-data"));
}

// Root passes config validation's own write check; the server's user must pass it too, or
// every body beyond the spool threshold would get 500 at run time.
TEST_F(Privileges, RefusesABodySpoolDirTheServerUserCannotWrite) {
    auto spool = site_ / "spool";
    std::filesystem::create_directories(spool);
    std::filesystem::permissions(spool, std::filesystem::perms(0755));  // root's alone to write
    auto result =
        run_cgihost({"--docroot", site_.file("www"), "--user", "www-data", "--cgi-user", "nobody",
                     "--body-spool-dir", spool.string(), "--listen", "127.0.0.1:0"});
    EXPECT_EQ(result.exit_status, 2);
    EXPECT_THAT(result.err, ::testing::HasSubstr("--body-spool-dir"));
    EXPECT_THAT(result.err, ::testing::HasSubstr(spool.string() + " is not writable by www-data"));
}

}  // namespace
}  // namespace cgihost::testing
