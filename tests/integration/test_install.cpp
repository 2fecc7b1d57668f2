// The install tree (dist/, doc/cgihost.8): `meson install --destdir` puts every file where the
// README says, the installed server runs from it, systemd accepts the units, and the man page
// names every option.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "test_server.hpp"

namespace cgihost::testing {
namespace {

namespace fs = std::filesystem;

std::string env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr) throw std::runtime_error(std::string(name) + " is not set");
    return value;
}

std::string shell_quoted(const std::string& text) {
    return "'" + text + "'";  // test paths hold no quote
}

// Where the configured prefix puts things (tests/meson.build passes them).
fs::path installed(const fs::path& destdir, const char* variable) {
    return destdir / fs::path(env(variable)).relative_path();
}

// One destdir install shared by the tests of this file: it takes a while under ASan.
class InstallTree : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir();
        destdir_ = (dir_->path() / "root").string();
        install_ = new ShellResult(run_shell(
            shell_quoted(env("CGIHOST_MESON")) + " install --no-rebuild --quiet -C " +
            shell_quoted(env("CGIHOST_BUILD_ROOT")) + " --destdir " + shell_quoted(destdir_)));
    }
    static void TearDownTestSuite() {
        delete install_;
        delete dir_;
    }
    void SetUp() override { ASSERT_EQ(install_->exit_status, 0) << install_->output; }
    static fs::path path(const char* variable) { return installed(destdir_, variable); }

    static TempDir* dir_;
    static std::string destdir_;
    static ShellResult* install_;
};
TempDir* InstallTree::dir_ = nullptr;
std::string InstallTree::destdir_;
ShellResult* InstallTree::install_ = nullptr;

bool is_executable_file(const fs::path& file) {
    struct stat st {};
    return ::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) == 0111;
}

TEST_F(InstallTree, PutsEveryFileWhereTheReadmeSays) {
    EXPECT_TRUE(is_executable_file(path("CGIHOST_INSTALL_SBINDIR") / "cgihost"));
    EXPECT_TRUE(is_executable_file(path("CGIHOST_INSTALL_BINDIR") / "chat-client"));
    for (const char* sample : {"hello", "env", "upload", "chat", "cookies", "download",
                               "background", "redirect", "hello.sh", "hello.py"}) {
        EXPECT_TRUE(is_executable_file(path("CGIHOST_INSTALL_SAMPLES_DIR") / sample)) << sample;
    }
    for (const char* page : {"index.html", "style.css", "chat.js", "upload.html"}) {
        EXPECT_TRUE(fs::is_regular_file(path("CGIHOST_INSTALL_WWW_DIR") / page)) << page;
    }
    const fs::path units = path("CGIHOST_INSTALL_UNIT_DIR");
    for (const char* unit : {"cgihost.service", "cgihost.socket", "cgihost-https.socket"}) {
        EXPECT_TRUE(fs::is_regular_file(units / unit)) << unit;
    }
    EXPECT_TRUE(fs::is_regular_file(path("CGIHOST_INSTALL_CONFIG")));
    EXPECT_TRUE(fs::is_regular_file(path("CGIHOST_INSTALL_MAN_DIR") / "man8" / "cgihost.8"));
    EXPECT_TRUE(fs::is_regular_file(path("CGIHOST_INSTALL_SYSUSERS")));
    EXPECT_TRUE(fs::is_regular_file(path("CGIHOST_INSTALL_TMPFILES")));
    EXPECT_TRUE(fs::is_regular_file(path("CGIHOST_INSTALL_LOGROTATE")));
}

TEST_F(InstallTree, ConfigurationAndUnitsNameTheInstalledPaths) {
    const std::string config = read_file(path("CGIHOST_INSTALL_CONFIG"));
    EXPECT_NE(config.find("docroot = \"" + env("CGIHOST_INSTALL_WWW_DIR") + "\""),
              std::string::npos);
    EXPECT_NE(config.find("cgi-dir = \"" + env("CGIHOST_INSTALL_SAMPLES_DIR") + "\""),
              std::string::npos);
    EXPECT_NE(config.find("CGIHOST_DATA_DIR=" + env("CGIHOST_INSTALL_DATA_DIR")),
              std::string::npos);
    EXPECT_FALSE(std::regex_search(config, std::regex("@[A-Z_]+@"))) << "unsubstituted";
    const std::string service = read_file(path("CGIHOST_INSTALL_UNIT_DIR") / "cgihost.service");
    EXPECT_NE(service.find("ExecStart=" + env("CGIHOST_INSTALL_SBINDIR") + "/cgihost --config " +
                           env("CGIHOST_INSTALL_CONFIG") + "\n"),
              std::string::npos);
    EXPECT_NE(service.find("ReadWritePaths=" + env("CGIHOST_INSTALL_DATA_DIR") + " " +
                           env("CGIHOST_INSTALL_LOG_DIR") + "\n"),
              std::string::npos);
    EXPECT_FALSE(std::regex_search(service, std::regex("@[A-Z_]+@"))) << "unsubstituted";
    const std::string tmpfiles = read_file(path("CGIHOST_INSTALL_TMPFILES"));
    EXPECT_NE(tmpfiles.find("d " + env("CGIHOST_INSTALL_DATA_DIR") + " 0750 cgihost-cgi"),
              std::string::npos);
    // logrotate reopens the logs (SIGUSR1) and never applies a half-edited config (SIGHUP).
    const std::string logrotate = read_file(path("CGIHOST_INSTALL_LOGROTATE"));
    EXPECT_NE(logrotate.find("--kill-whom=main --signal=USR1 cgihost.service"), std::string::npos)
        << logrotate;
    EXPECT_EQ(logrotate.find("systemctl reload"), std::string::npos) << logrotate;
}

// The installed configuration with its absolute paths moved under the destdir.
std::string config_under(const std::string& config, const std::string& destdir) {
    std::istringstream in(config);
    std::string out;
    for (std::string line; std::getline(in, line);) {
        for (const char* key : {"docroot = \"", "cgi-dir = \"", "CGIHOST_DATA_DIR="}) {
            if (auto at = line.find(key); at != std::string::npos && line[0] != '#') {
                line.insert(at + std::string(key).size(), destdir);
            }
        }
        out += line + "\n";
    }
    return out;
}

TEST_F(InstallTree, InstalledServerServesTheSiteAndTheSamples) {
    fs::create_directories(path("CGIHOST_INSTALL_DATA_DIR"));
    dir_->let_anyone_write();
    const fs::path config = dir_->write_file(
        "cgihost.conf", config_under(read_file(path("CGIHOST_INSTALL_CONFIG")), destdir_));
    const std::string built = cgihost_binary();
    const std::string binary = (path("CGIHOST_INSTALL_SBINDIR") / "cgihost").string();
    ::setenv("CGIHOST_BIN", binary.c_str(), 1);  // TestServer runs the installed binary
    TestServer server({"--config", config.string()});
    ::setenv("CGIHOST_BIN", built.c_str(), 1);
    HttpConnection connection(server.port());
    auto index = connection.request("GET", "/");
    ASSERT_TRUE(index);
    EXPECT_EQ(index->status, 200);
    EXPECT_EQ(index->body, read_file(path("CGIHOST_INSTALL_WWW_DIR") / "index.html"));
    auto hello = connection.request("GET", "/cgi-bin/hello");
    ASSERT_TRUE(hello);
    EXPECT_EQ(hello->status, 200);
    EXPECT_NE(hello->body.find("Hello"), std::string::npos) << hello->body;
    EXPECT_EQ(server.stop(), 0);
}

// systemd-analyze verify exits 0 on mere warnings (an unknown key, a bad value it ignores):
// only silence counts. ExecStart must exist, so a copy of the service points at the binary
// in the destdir; everything else is as installed.
ShellResult verify_units(const fs::path& dir) {
    return run_shell("cd " + shell_quoted(dir.string()) +
                     " && systemd-analyze verify --man=no cgihost.service cgihost.socket "
                     "cgihost-https.socket");
}

void copy_units(const fs::path& from, const fs::path& to, const std::string& exec_start,
                const std::string& replacement) {
    fs::create_directories(to);
    std::string service = read_file(from / "cgihost.service");
    if (auto at = service.find(exec_start); at != std::string::npos) {
        service.replace(at, exec_start.size(), replacement);
    }
    std::ofstream(to / "cgihost.service") << service;
    for (const char* socket : {"cgihost.socket", "cgihost-https.socket"})
        fs::copy_file(from / socket, to / socket, fs::copy_options::overwrite_existing);
}

TEST_F(InstallTree, SystemdAcceptsTheUnits) {
    const std::string exec_start = "ExecStart=" + env("CGIHOST_INSTALL_SBINDIR") + "/cgihost";
    const std::string in_destdir =
        "ExecStart=" + (path("CGIHOST_INSTALL_SBINDIR") / "cgihost").string();
    const fs::path units = dir_->path() / "units";
    copy_units(path("CGIHOST_INSTALL_UNIT_DIR"), units, exec_start, in_destdir);
    auto verified = verify_units(units);
    EXPECT_EQ(verified.exit_status, 0) << verified.output;
    EXPECT_EQ(verified.output, "");

    // The check can fail: a misspelt key is only a warning, and is caught.
    std::string broken = read_file(units / "cgihost.service");
    broken.replace(broken.find("NoNewPrivileges="), 16, "NoNewPrivilege=");
    std::ofstream(units / "cgihost.service") << broken;
    auto refused = verify_units(units);
    EXPECT_NE(refused.output.find("NoNewPrivilege"), std::string::npos) << refused.output;
}

// systemd-sysusers and systemd-tmpfiles, pointed at a scratch root with this machine's
// accounts, create the scripts' user and the data and log directories as the README says.
TEST_F(InstallTree, SysusersAndTmpfilesCreateTheUserAndDirectories) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: tmpfiles sets owners";
    const fs::path root = dir_->path() / "scratch-root";
    fs::create_directories(root / "etc");
    for (const char* file : {"passwd", "group", "shadow", "gshadow"}) {
        if (fs::exists(fs::path("/etc") / file))
            fs::copy_file(fs::path("/etc") / file, root / "etc" / file);
    }
    auto users = run_shell("systemd-sysusers --root=" + shell_quoted(root.string()) + " " +
                           shell_quoted(path("CGIHOST_INSTALL_SYSUSERS").string()));
    EXPECT_EQ(users.exit_status, 0) << users.output;
    EXPECT_NE(read_file(root / "etc" / "passwd").find("\ncgihost-cgi:"), std::string::npos);
    auto directories = run_shell("systemd-tmpfiles --create --root=" + shell_quoted(root.string()) +
                                 " " + shell_quoted(path("CGIHOST_INSTALL_TMPFILES").string()));
    EXPECT_EQ(directories.exit_status, 0) << directories.output;
    EXPECT_EQ(directories.output, "");
    struct stat data {};
    struct stat logs {};
    ASSERT_EQ(::stat(installed(root.string(), "CGIHOST_INSTALL_DATA_DIR").c_str(), &data), 0);
    ASSERT_EQ(::stat(installed(root.string(), "CGIHOST_INSTALL_LOG_DIR").c_str(), &logs), 0);
    // The scripts' user of the scratch root owns the data: "cgihost-cgi:x:UID:GID:...".
    const std::string passwd = read_file(root / "etc" / "passwd");
    const size_t entry = passwd.find("\ncgihost-cgi:x:");
    ASSERT_NE(entry, std::string::npos);
    EXPECT_EQ(data.st_uid, static_cast<uid_t>(std::stoul(passwd.substr(entry + 15))));
    EXPECT_EQ(data.st_mode & 07777, 0750U);
    EXPECT_EQ(logs.st_mode & 07777, 0755U);
    EXPECT_EQ(logs.st_uid, 0U);
}

// "CapabilityBoundingSet=CAP_A CAP_B" of the unit as setpriv's "-all,+a,+b".
std::string bounding_set_for_setpriv(const std::string& service) {
    std::smatch match;
    if (!std::regex_search(service, match, std::regex("\nCapabilityBoundingSet=([^\n]+)\n"))) {
        return {};
    }
    std::string result = "-all";
    std::istringstream in(match[1].str());
    for (std::string capability; in >> capability;) {
        std::string name = capability.substr(4);  // without "CAP_"
        for (char& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        result += ",+" + name;
    }
    return result;
}

// The unit's NoNewPrivileges= and CapabilityBoundingSet= leave cgihost what it needs as root:
// binding, opening (again, on a second start) log files that belong to www-data, and running
// scripts as another user.
TEST_F(InstallTree, ServiceHardeningLetsTheServerStartTwiceAndRunScripts) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: the server starts as root under systemd";
    const std::string service = read_file(path("CGIHOST_INSTALL_UNIT_DIR") / "cgihost.service");
    ASSERT_NE(service.find("\nNoNewPrivileges=yes\n"), std::string::npos);
    const std::string bounding = bounding_set_for_setpriv(service);
    ASSERT_FALSE(bounding.empty());
    TempDir logs;
    logs.let_anyone_write();
    const std::vector<std::string> launcher{"setpriv", "--no-new-privs",
                                            "--bounding-set=" + bounding};
    for (int start = 1; start <= 2; ++start) {
        TestServer server({"--docroot", path("CGIHOST_INSTALL_WWW_DIR").string(), "--cgi-dir",
                           path("CGIHOST_INSTALL_SAMPLES_DIR").string(), "--access-log",
                           logs.file("access.log"), "--error-log", logs.file("error.log")},
                          true, launcher);
        HttpConnection connection(server.port());
        auto hello = connection.request("GET", "/cgi-bin/hello");
        ASSERT_TRUE(hello) << "start " << start;
        EXPECT_EQ(hello->status, 200) << "start " << start;
        EXPECT_EQ(server.stop(), 0) << "start " << start;
    }
}

// Every --option `cgihost --help` prints, in order.
std::vector<std::string> options_in_help() {
    auto help = run_cgihost({"--help"});
    std::vector<std::string> options;
    std::regex option(R"(^  (?:-h,)?(--[a-z0-9-]+))");
    std::istringstream in(help.out);
    for (std::string line; std::getline(in, line);) {
        std::smatch match;
        if (std::regex_search(line, match, option)) options.push_back(match[1]);
    }
    return options;
}

// `roff` as a whole option: "\\-\\-listen" is not found in "\\-\\-listen\\-tls".
bool names_option(const std::string& page, const std::string& roff) {
    for (size_t at = page.find(roff); at != std::string::npos; at = page.find(roff, at + 1)) {
        const size_t end = at + roff.size();
        const bool whole =
            end == page.size() ||
            (page[end] != '\\' && std::isalnum(static_cast<unsigned char>(page[end])) == 0);
        if (whole) return true;
    }
    return false;
}

TEST(ManPage, NamesEveryOptionOfHelp) {
    const std::string page = read_file(env("CGIHOST_MAN_PAGE"));
    const auto options = options_in_help();
    ASSERT_GT(options.size(), 50U);
    for (const auto& option : options) {
        // roff writes each '-' of an option as "\-".
        std::string roff;
        for (char c : option)
            roff += c == '-' ? std::string("\\-") : std::string(1, c);
        EXPECT_TRUE(names_option(page, roff)) << option << " is not described in doc/cgihost.8";
    }
}

TEST(ManPage, RendersWithoutWarnings) {
    auto rendered = run_shell("groff -man -ww -z " + shell_quoted(env("CGIHOST_MAN_PAGE")));
    EXPECT_EQ(rendered.exit_status, 0);
    EXPECT_EQ(rendered.output, "");
}

}  // namespace
}  // namespace cgihost::testing
