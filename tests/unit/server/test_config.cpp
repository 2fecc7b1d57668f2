#include "server/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "server/version.hpp"
#include "test_server.hpp"

namespace cgihost {
namespace {

using testing::TempDir;

namespace fs = std::filesystem;

// Runs `cd dir` for the life of the object: the default docroot is relative to it.
class WorkingDirectory {
  public:
    explicit WorkingDirectory(const fs::path& dir) : previous_(fs::current_path()) {
        fs::current_path(dir);
    }
    ~WorkingDirectory() { fs::current_path(previous_); }
    WorkingDirectory(const WorkingDirectory&) = delete;
    WorkingDirectory& operator=(const WorkingDirectory&) = delete;

  private:
    fs::path previous_;
};

ConfigOutcome parse(std::vector<std::string> args) {
    args.insert(args.begin(), "cgihost");
    std::vector<const char*> argv;
    for (const auto& arg : args)
        argv.push_back(arg.c_str());
    argv.push_back(nullptr);
    return parse_config(static_cast<int>(args.size()), argv.data());
}

std::string describe(const ConfigOutcome& outcome) {
    if (const auto* exit = std::get_if<ConfigExit>(&outcome)) {
        return "exit " + std::to_string(exit->status) + ": " + exit->message;
    }
    return "a Config";
}

// The Config of a successful parse; fails the test (and returns defaults) otherwise.
Config expect_config(const ConfigOutcome& outcome) {
    if (const auto* config = std::get_if<Config>(&outcome)) return *config;
    ADD_FAILURE() << "expected a Config, got " << describe(outcome);
    return Config{};
}

// The exit of a parse that must stop; fails the test when it produced a Config.
ConfigExit expect_exit(const ConfigOutcome& outcome, int status) {
    const auto* exit = std::get_if<ConfigExit>(&outcome);
    if (exit == nullptr) {
        ADD_FAILURE() << "expected exit " << status << ", got a Config";
        return ConfigExit{-1, ""};
    }
    EXPECT_EQ(exit->status, status) << exit->message;
    return *exit;
}

// A configuration error is one line on stderr naming what is wrong.
void expect_error_naming(const ConfigOutcome& outcome, const std::string& name) {
    ConfigExit exit = expect_exit(outcome, 2);
    EXPECT_NE(exit.message.find(name), std::string::npos) << exit.message;
    EXPECT_EQ(exit.message.rfind("cgihost: error: ", 0), 0u) << exit.message;
    ASSERT_FALSE(exit.message.empty());
    EXPECT_EQ(exit.message.back(), '\n');
    EXPECT_EQ(exit.message.find('\n'), exit.message.size() - 1) << exit.message;
}

class ParseConfig : public ::testing::Test {
  protected:
    TempDir dir_;
    std::string docroot_ = dir_.path().string();
};

TEST_F(ParseConfig, FillsEveryDefaultWhenOnlyTheDocrootIsGiven) {
    Config c = expect_config(parse({"--docroot", docroot_}));
    EXPECT_EQ(c.listen, std::vector<std::string>{"127.0.0.1:8080"});
    ASSERT_EQ(c.listen_addresses.size(), 1u);
    EXPECT_EQ(c.listen_addresses[0].host, "127.0.0.1");
    EXPECT_EQ(c.listen_addresses[0].port, 8080);
    EXPECT_EQ(c.docroot, docroot_);
    EXPECT_EQ(c.index_files, std::vector<std::string>{"index.html"});
    EXPECT_FALSE(c.directory_listing);
    EXPECT_FALSE(c.serve_dotfiles);
    EXPECT_FALSE(c.follow_symlinks_outside);
    EXPECT_EQ(c.mime_types, "/etc/mime.types");
    EXPECT_GE(c.threads, 1u);  // 0 means one per core, resolved by validation
    EXPECT_EQ(c.cgi_dir, "cgi-bin");
    EXPECT_EQ(c.cgi_url, "/cgi-bin/");
    EXPECT_EQ(c.max_header_size, 16u * 1024);
    EXPECT_EQ(c.max_uri_size, 8u * 1024);
    EXPECT_EQ(c.max_body_size, uint64_t{1} << 30);
    EXPECT_EQ(c.max_body_memory, 256u * 1024 * 1024);
    EXPECT_EQ(c.body_spool_threshold, 256u * 1024);
    EXPECT_FALSE(c.body_spool_dir.empty());  // $TMPDIR or /tmp, resolved by validation
    EXPECT_EQ(c.read_timeout, 30);
    EXPECT_EQ(c.write_timeout, 60);
    EXPECT_EQ(c.keep_alive_timeout, 15);
    EXPECT_EQ(c.shutdown_grace, 10);
    EXPECT_EQ(c.access_log, "-");
    EXPECT_EQ(c.error_log, "-");
    EXPECT_EQ(c.log_level, "info");
}

TEST_F(ParseConfig, DefaultDocrootIsWwwInTheWorkingDirectory) {
    fs::create_directory(dir_.path() / "www");
    WorkingDirectory cd(dir_.path());
    Config c = expect_config(parse({}));
    EXPECT_EQ(c.docroot, "www");
}

TEST_F(ParseConfig, DefaultDocrootMissingFromTheWorkingDirectoryIsAnError) {
    WorkingDirectory cd(dir_.path());
    expect_error_naming(parse({}), "--docroot");
}

TEST_F(ParseConfig, EveryFlagSetsItsField) {
    Config c = expect_config(parse({
        "--listen",
        "127.0.0.1:0",
        "--listen",
        "[::1]:81",
        "--docroot",
        docroot_,
        "--index-files",
        "default.htm",
        "index.htm",
        "--directory-listing",
        "true",
        "--serve-dotfiles",
        "true",
        "--follow-symlinks-outside",
        "true",
        "--mime-types",
        "/tmp/types",
        "--threads",
        "3",
        "--cgi-dir",
        "/srv/cgi",
        "--cgi-url",
        "/scripts/",
        "--max-header-size",
        "2048",
        "--max-uri-size",
        "512",
        "--max-body-size",
        "1000",
        "--read-timeout",
        "1.5",
        "--write-timeout",
        "2.5",
        "--keep-alive-timeout",
        "3.5",
        "--shutdown-grace",
        "0",
        "--access-log",
        "/tmp/a.log",
        "--error-log",
        "",
        "--log-level",
        "debug",
    }));
    EXPECT_EQ(c.listen, (std::vector<std::string>{"127.0.0.1:0", "[::1]:81"}));
    ASSERT_EQ(c.listen_addresses.size(), 2u);
    EXPECT_EQ(c.listen_addresses[0].host, "127.0.0.1");
    EXPECT_EQ(c.listen_addresses[0].port, 0);
    EXPECT_EQ(c.listen_addresses[1].host, "::1");
    EXPECT_EQ(c.listen_addresses[1].port, 81);
    EXPECT_EQ(c.docroot, docroot_);
    EXPECT_EQ(c.index_files, (std::vector<std::string>{"default.htm", "index.htm"}));
    EXPECT_TRUE(c.directory_listing);
    EXPECT_TRUE(c.serve_dotfiles);
    EXPECT_TRUE(c.follow_symlinks_outside);
    EXPECT_EQ(c.mime_types, "/tmp/types");
    EXPECT_EQ(c.threads, 3u);
    EXPECT_EQ(c.cgi_dir, "/srv/cgi");
    EXPECT_EQ(c.cgi_url, "/scripts/");
    EXPECT_EQ(c.max_header_size, 2048u);
    EXPECT_EQ(c.max_uri_size, 512u);
    EXPECT_EQ(c.max_body_size, 1000u);
    EXPECT_EQ(c.read_timeout, 1.5);
    EXPECT_EQ(c.write_timeout, 2.5);
    EXPECT_EQ(c.keep_alive_timeout, 3.5);
    EXPECT_EQ(c.shutdown_grace, 0);
    EXPECT_EQ(c.access_log, "/tmp/a.log");
    EXPECT_EQ(c.error_log, "");
    EXPECT_EQ(c.log_level, "debug");
}

TEST_F(ParseConfig, AcceptsTheEqualsFormOfFlags) {
    Config c = expect_config(parse({"--docroot=" + docroot_, "--threads=4", "--listen=[::1]:0"}));
    EXPECT_EQ(c.threads, 4u);
    ASSERT_EQ(c.listen_addresses.size(), 1u);
    EXPECT_EQ(c.listen_addresses[0].host, "::1");
}

TEST_F(ParseConfig, ReadsSizesWithBinarySuffixes) {
    Config c = expect_config(parse({"--docroot", docroot_, "--max-body-size", "64KiB",
                                    "--max-header-size", "1M", "--max-uri-size", "2k"}));
    EXPECT_EQ(c.max_body_size, 64u * 1024);
    EXPECT_EQ(c.max_header_size, 1024u * 1024);
    EXPECT_EQ(c.max_uri_size, 2048u);
}

TEST_F(ParseConfig, ReadsAnIniConfigFile) {
    std::string file = dir_.write_file("cgihost.ini",
                                       "; an INI file\n"
                                       "[default]\n"
                                       "docroot = " +
                                           docroot_ +
                                           "\n"
                                           "listen = 127.0.0.1:9000\n"
                                           "threads = 3\n"
                                           "directory-listing = true\n"
                                           "max-body-size = 2MiB\n"
                                           "log-level = warn\n");
    Config c = expect_config(parse({"--config", file}));
    EXPECT_EQ(c.docroot, docroot_);
    ASSERT_EQ(c.listen_addresses.size(), 1u);
    EXPECT_EQ(c.listen_addresses[0].port, 9000);
    EXPECT_EQ(c.threads, 3u);
    EXPECT_TRUE(c.directory_listing);
    EXPECT_EQ(c.max_body_size, 2u * 1024 * 1024);
    EXPECT_EQ(c.log_level, "warn");
}

TEST_F(ParseConfig, ReadsATomlConfigFileWithArraysAndQuotedStrings) {
    std::string file = dir_.write_file("cgihost.toml",
                                       "# a TOML file\n"
                                       "docroot = \"" +
                                           docroot_ +
                                           "\"\n"
                                           "listen = [\"127.0.0.1:0\", \"[::1]:8081\"]\n"
                                           "index-files = [\"home.html\", \"index.html\"]\n"
                                           "serve-dotfiles = true\n"
                                           "read-timeout = 2.5\n"
                                           "max-uri-size = \"4KiB\"\n"
                                           "access-log = \"/var/log/cgihost/access.log\"\n");
    Config c = expect_config(parse({"--config", file}));
    EXPECT_EQ(c.docroot, docroot_);
    ASSERT_EQ(c.listen_addresses.size(), 2u);
    EXPECT_EQ(c.listen_addresses[1].host, "::1");
    EXPECT_EQ(c.listen_addresses[1].port, 8081);
    EXPECT_EQ(c.index_files, (std::vector<std::string>{"home.html", "index.html"}));
    EXPECT_TRUE(c.serve_dotfiles);
    EXPECT_EQ(c.read_timeout, 2.5);
    EXPECT_EQ(c.max_uri_size, 4096u);
    EXPECT_EQ(c.access_log, "/var/log/cgihost/access.log");
}

TEST_F(ParseConfig, FlagsOverrideTheConfigFile) {
    std::string file = dir_.write_file("cgihost.toml", "docroot = \"" + docroot_ +
                                                           "\"\n"
                                                           "listen = \"127.0.0.1:9000\"\n"
                                                           "threads = 3\n"
                                                           "log-level = \"warn\"\n");
    Config c =
        expect_config(parse({"--config", file, "--threads", "5", "--listen", "127.0.0.1:9001"}));
    EXPECT_EQ(c.threads, 5u);
    EXPECT_EQ(c.listen, std::vector<std::string>{"127.0.0.1:9001"});
    EXPECT_EQ(c.log_level, "warn");  // not on the command line: the file's value stays
    EXPECT_EQ(c.docroot, docroot_);
}

// The help line of `option` ("  --threads UINT:...=0"), or "" when it is not listed.
std::string help_line(const std::string& help, const std::string& option) {
    size_t at = help.find("  " + option + " ");
    if (at == std::string::npos) at = help.find("  " + option + "\n");
    if (at == std::string::npos) at = help.find("," + option + " ");
    if (at == std::string::npos) return {};
    return help.substr(at, help.find('\n', at) - at);
}

TEST_F(ParseConfig, ReadsTheHttpsKeysFromAConfigFile) {
    std::string file = dir_.write_file("cgihost.toml", "docroot = \"" + docroot_ +
                                                           "\"\n"
                                                           "listen-tls = [\"127.0.0.1:0\", "
                                                           "\"[::1]:8443\"]\n"
                                                           "tls-cert = \"/c.pem\"\n"
                                                           "tls-key = \"/k.pem\"\n"
                                                           "tls-ocsp-staple = \"/o.der\"\n"
                                                           "redirect-to-https = true\n"
                                                           "hsts = 600\n");
    Config c = expect_config(parse({"--config", file}));
    ASSERT_EQ(c.listen_tls_addresses.size(), 2u);
    EXPECT_EQ(c.listen_tls_addresses[1].host, "::1");
    EXPECT_EQ(c.listen_tls_addresses[1].port, 8443);
    EXPECT_EQ(c.tls_cert, "/c.pem");
    EXPECT_EQ(c.tls_key, "/k.pem");
    EXPECT_EQ(c.tls_ocsp_staple, "/o.der");
    EXPECT_TRUE(c.redirect_to_https);
    EXPECT_EQ(c.hsts, 600u);
}

// The configs shipped in conf/ must parse as they are, with only the directories, which do
// not exist on a test machine, given on the command line (flags override the file).
TEST_F(ParseConfig, AcceptsTheShippedConfigFiles) {
    const char* root = std::getenv("CGIHOST_SOURCE_ROOT");
    ASSERT_NE(root, nullptr) << "run with meson test, which sets CGIHOST_SOURCE_ROOT";
    const std::vector<std::string> directories{"--docroot", docroot_, "--cgi-dir", docroot_};
    for (const char* name : {"cgihost.conf", "cgihost-public.conf.example"}) {
        std::vector<std::string> args{"--config", std::string(root) + "/conf/" + name};
        args.insert(args.end(), directories.begin(), directories.end());
        expect_config(parse(args));
    }
    std::vector<std::string> args{"--config",
                                  std::string(root) + "/conf/cgihost-public.conf.example"};
    args.insert(args.end(), directories.begin(), directories.end());
    Config c = expect_config(parse(args));
    EXPECT_EQ(c.listen_tls_addresses.size(), 2u);
    EXPECT_TRUE(c.redirect_to_https);
    EXPECT_EQ(c.basic_auth.size(), 2u);
    EXPECT_EQ(c.allow.size(), 1u);
}

TEST_F(ParseConfig, RefusesHttpsOptionsThatCannotWorkTogether) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--listen-tls", "127.0.0.1:0"}, "--listen-tls"},
        {{"--listen-tls", "127.0.0.1:0", "--tls-cert", "/c.pem"}, "--listen-tls"},
        {{"--listen-tls", "nonsense", "--tls-cert", "/c", "--tls-key", "/k"}, "--listen-tls"},
        {{"--tls-cert", "/c.pem", "--tls-key", "/k.pem"}, "--tls-cert"},
        {{"--redirect-to-https", "true"}, "--redirect-to-https"},
        {{"--hsts", "60"}, "--hsts"},
    };
    for (const auto& [flags, named] : cases) {
        std::vector<std::string> args{"--docroot", docroot_};
        args.insert(args.end(), flags.begin(), flags.end());
        expect_error_naming(parse(args), named);
    }
}

TEST_F(ParseConfig, ReadsTheLoadBalancerOptions) {
    Config defaults = expect_config(parse({"--docroot", docroot_}));
    EXPECT_TRUE(defaults.trusted_proxies.empty());
    EXPECT_FALSE(defaults.proxy_protocol);
    EXPECT_EQ(defaults.health_url, "");
    EXPECT_EQ(defaults.shutdown_delay, 0);
    Config c = expect_config(
        parse({"--docroot", docroot_, "--trusted-proxies", "10.0.0.0/8,::1", "127.0.0.1",
               "--proxy-protocol", "true", "--health-url", "/healthz", "--shutdown-delay", "2.5"}));
    EXPECT_EQ(c.trusted_proxies, (std::vector<std::string>{"10.0.0.0/8,::1", "127.0.0.1"}));
    EXPECT_TRUE(c.proxy_protocol);
    EXPECT_EQ(c.health_url, "/healthz");
    EXPECT_EQ(c.shutdown_delay, 2.5);
    // On a TLS listener too: the header precedes the handshake (TLS passthrough).
    Config tls =
        expect_config(parse({"--docroot", docroot_, "--proxy-protocol", "true", "--listen-tls",
                             "127.0.0.1:0", "--tls-cert", "/c", "--tls-key", "/k"}));
    EXPECT_TRUE(tls.proxy_protocol);
    EXPECT_EQ(tls.listen_tls.size(), 1u);
}

TEST_F(ParseConfig, RefusesLoadBalancerOptionsThatCannotWork) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--trusted-proxies", "10.0.0.0/33"}, "--trusted-proxies"},
        {{"--trusted-proxies", "proxy.example"}, "--trusted-proxies"},
        {{"--health-url", "healthz"}, "--health-url"},
        {{"--health-url", "/health?x"}, "--health-url"},
        {{"--shutdown-delay", "-1"}, "--shutdown-delay"},
        {{"--proxy-protocol", "maybe"}, "--proxy-protocol"},
    };
    for (const auto& [flags, named] : cases) {
        std::vector<std::string> args{"--docroot", docroot_};
        args.insert(args.end(), flags.begin(), flags.end());
        expect_error_naming(parse(args), named);
    }
}

TEST_F(ParseConfig, ReadsTheServerNamesLowerCasedAndFollowsCgiSymlinksByDefault) {
    Config defaults = expect_config(parse({"--docroot", docroot_}));
    EXPECT_TRUE(defaults.cgi_follow_symlinks);
    EXPECT_EQ(defaults.server_name, "");
    Config c = expect_config(
        parse({"--docroot", docroot_, "--server-name", "WWW.Example.org", "--server-aliases",
               "example.org", "*.Example.net", "--cgi-follow-symlinks", "false"}));
    EXPECT_EQ(c.server_name, "www.example.org");
    EXPECT_EQ(c.server_aliases, (std::vector<std::string>{"example.org", "*.example.net"}));
    EXPECT_FALSE(c.cgi_follow_symlinks);
}

TEST_F(ParseConfig, RefusesServerNamesThatAreNotBareHosts) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--server-name", "example.org:8080"}, "--server-name"},
        {{"--server-name", "https://example.org"}, "--server-name"},
        {{"--server-name", "*.example.org"}, "--server-name"},
        {{"--server-aliases", "www.example.org"}, "--server-aliases"},
        {{"--server-name", "example.org", "--server-aliases", "a/b"}, "--server-aliases"},
    };
    for (const auto& [flags, named] : cases) {
        std::vector<std::string> args{"--docroot", docroot_};
        args.insert(args.end(), flags.begin(), flags.end());
        expect_error_naming(parse(args), named);
    }
}

TEST_F(ParseConfig, HelpListsEveryOptionWithItsDefaultAndExitsZero) {
    ConfigExit exit = expect_exit(parse({"--help"}), 0);
    const std::vector<std::pair<std::string, std::string>> options = {
        {"--listen", "=[127.0.0.1:8080]"},
        {"--docroot", "=www"},
        {"--index-files", "=[index.html]"},
        {"--directory-listing", "=0"},
        {"--serve-dotfiles", "=0"},
        {"--follow-symlinks-outside", "=0"},
        {"--file-check-interval", "=0"},
        {"--mime-types", "=/etc/mime.types"},
        {"--threads", "=0"},
        {"--cgi-dir", "=cgi-bin"},
        {"--cgi-url", "=/cgi-bin/"},
        {"--max-header-size", "=16384"},
        {"--max-uri-size", "=8192"},
        {"--max-body-size", "=1073741824"},
        {"--max-body-memory", "=268435456"},
        {"--body-spool-threshold", "=262144"},
        {"--body-spool-dir", ""},
        {"--read-timeout", "=30"},
        {"--write-timeout", "=60"},
        {"--keep-alive-timeout", "=15"},
        {"--shutdown-grace", "=10"},
        {"--access-log", "=-"},
        {"--error-log", "=-"},
        {"--log-level", "=info"},
        {"--listen-tls", "=[]"},
        {"--tls-cert", ""},
        {"--tls-key", ""},
        {"--tls-ocsp-staple", ""},
        {"--tls-min-version", "=1.2"},
        {"--redirect-to-https", "=0"},
        {"--hsts", "=0"},
        {"--allow", ""},
        {"--basic-auth", ""},
        {"--basic-auth-realm", "=cgihost"},
        {"--auth-max-failures", "=10"},
        {"--auth-failure-window", "=600"},
        {"--auth-max-delay", "=4"},
        {"--auth-verify-queue", "=128"},
        {"--trusted-proxies", ""},
        {"--proxy-protocol", "=0"},
        {"--health-url", ""},
        {"--shutdown-delay", "=0"},
        {"--config", ""},
        {"--version", ""},
        {"--help", ""},
    };
    for (const auto& [option, default_value] : options) {
        std::string line = help_line(exit.message, option);
        EXPECT_FALSE(line.empty()) << option << " is not listed:\n" << exit.message;
        EXPECT_NE(line.find(default_value), std::string::npos) << line;
    }
}

TEST_F(ParseConfig, HelpNeedsNoValidDocroot) {
    WorkingDirectory cd(dir_.path());  // no "www" here
    expect_exit(parse({"--help"}), 0);
}

TEST_F(ParseConfig, VersionPrintsTheVersionAndExitsZero) {
    ConfigExit exit = expect_exit(parse({"--version"}), 0);
    EXPECT_EQ(exit.message, std::string("cgihost ") + kVersion + "\n");
}

TEST_F(ParseConfig, UnknownFlagIsAnErrorNamingIt) {
    expect_error_naming(parse({"--docroot", docroot_, "--no-such-flag"}), "--no-such-flag");
}

TEST_F(ParseConfig, StrayPositionalArgumentIsAnError) {
    expect_error_naming(parse({"--docroot", docroot_, "extra"}), "extra");
}

TEST_F(ParseConfig, UnknownKeyInTheConfigFileIsAnErrorNamingTheKey) {
    std::string file =
        dir_.write_file("bad.toml", "docroot = \"" + docroot_ + "\"\nno-such-key = 1\n");
    expect_error_naming(parse({"--config", file}), "no-such-key");
}

TEST_F(ParseConfig, KeyInAnUnknownSectionIsAnError) {
    std::string file = dir_.write_file("bad.ini", "[server]\nthreads = 2\n");
    expect_error_naming(parse({"--config", file, "--docroot", docroot_}), "server");
}

TEST_F(ParseConfig, MissingConfigFileIsAnErrorNamingIt) {
    std::string missing = (dir_.path() / "missing.toml").string();
    expect_error_naming(parse({"--config", missing, "--docroot", docroot_}), "missing.toml");
}

TEST_F(ParseConfig, ValueOfTheWrongTypeIsAnError) {
    const std::vector<std::vector<std::string>> cases = {
        {"--threads", "abc"},
        {"--threads", "-1"},
        {"--threads", "300"},
        {"--max-body-size", "lots"},
        {"--max-header-size", "12 parsecs"},
        {"--read-timeout", "soon"},
        {"--read-timeout", "0"},
        {"--keep-alive-timeout", "-5"},
        {"--file-check-interval", "-1"},
        {"--file-check-interval", "61"},
        {"--tls-min-version", "1.1"},
        {"--shutdown-grace", "-1"},
        {"--directory-listing", "maybe"},
        {"--log-level", "verbose"},
    };
    for (const auto& flag_and_value : cases) {
        SCOPED_TRACE(flag_and_value[0] + " " + flag_and_value[1]);
        auto args = flag_and_value;
        args.insert(args.end(), {"--docroot", docroot_});
        expect_error_naming(parse(args), flag_and_value[0]);
    }
}

TEST_F(ParseConfig, ValueOfTheWrongTypeInTheConfigFileIsAnError) {
    std::string file =
        dir_.write_file("bad.toml", "docroot = \"" + docroot_ + "\"\nmax-body-size = \"lots\"\n");
    expect_error_naming(parse({"--config", file}), "max-body-size");
}

TEST_F(ParseConfig, ReadsRepeatedAccessRulesFromFlagsAndTheConfigFile) {
    dir_.write_file("c.toml",
                    "allow = [\"/a=10.0.0.0/8\", \"/b=::1\"]\n"
                    "basic-auth = [\"/c=/etc/c.htpasswd\"]\nbasic-auth-realm = \"R\"\n");
    Config c =
        expect_config(parse({"--docroot", docroot_, "--config", dir_.file("c.toml"), "--basic-auth",
                             "/d=/etc/d.htpasswd", "--basic-auth", "/e=/etc/e.htpasswd"}));
    EXPECT_EQ(c.allow, (std::vector<std::string>{"/a=10.0.0.0/8", "/b=::1"}));
    EXPECT_EQ(c.basic_auth, (std::vector<std::string>{"/d=/etc/d.htpasswd", "/e=/etc/e.htpasswd"}));
    EXPECT_EQ(c.basic_auth_realm, "R");
}

TEST_F(ParseConfig, MalformedAccessRulesAreErrorsNamingTheirOption) {
    for (const char* bad : {"/x=10.0.0.0/33", "/x", "x=10.0.0.0/8", "/x=1.2.3.4,", "/../x=::1"}) {
        SCOPED_TRACE(bad);
        expect_error_naming(parse({"--docroot", docroot_, "--allow", bad}), "--allow");
    }
    for (const char* bad : {"/x", "/x=", "x=/f", "/../x=/f"}) {
        SCOPED_TRACE(bad);
        expect_error_naming(parse({"--docroot", docroot_, "--basic-auth", bad}), "--basic-auth");
    }
    expect_error_naming(parse({"--docroot", docroot_, "--basic-auth-realm", "a\nb"}),
                        "--basic-auth-realm");
    expect_error_naming(parse({"--docroot", docroot_, "--auth-max-delay", "-1"}),
                        "--auth-max-delay");
}

TEST_F(ParseConfig, MalformedListenAddressIsAnErrorNamingListen) {
    for (const char* bad :
         {"localhost", "127.0.0.1:", ":80", "::1:80", "[::1]", "1.2.3.4:99999", "host:port"}) {
        SCOPED_TRACE(bad);
        expect_error_naming(parse({"--docroot", docroot_, "--listen", bad}), "--listen");
    }
}

TEST_F(ParseConfig, AcceptsABracketedIpv6ListenAddress) {
    Config c = expect_config(parse({"--docroot", docroot_, "--listen", "[::1]:0"}));
    ASSERT_EQ(c.listen_addresses.size(), 1u);
    EXPECT_EQ(c.listen_addresses[0].host, "::1");
    EXPECT_EQ(c.listen_addresses[0].port, 0);
}

TEST_F(ParseConfig, MissingDocrootIsAnErrorNamingDocroot) {
    expect_error_naming(parse({"--docroot", (dir_.path() / "nowhere").string()}), "--docroot");
}

TEST_F(ParseConfig, DocrootThatIsAFileIsAnErrorNamingDocroot) {
    std::string file = dir_.write_file("file.txt", "x");
    expect_error_naming(parse({"--docroot", file}), "--docroot");
}

TEST_F(ParseConfig, UnreadableDocrootIsAnErrorNamingDocroot) {
    if (::geteuid() == 0) GTEST_SKIP() << "root can read any directory";
    fs::path locked = dir_.path() / "locked";
    fs::create_directory(locked);
    fs::permissions(locked, fs::perms::none);
    auto outcome = parse({"--docroot", locked.string()});
    fs::permissions(locked, fs::perms::owner_all);
    expect_error_naming(outcome, "--docroot");
}

TEST_F(ParseConfig, RejectsLimitsAndNamesThatCannotWork) {
    const std::vector<std::vector<std::string>> cases = {
        {"--max-header-size", "100"},     {"--max-uri-size", "10"},
        {"--cgi-url", "cgi-bin/"},        {"--index-files", "../index.html"},
        {"--index-files", ".index.html"}, {"--index-files", "sub/index.html"},
    };
    for (const auto& flag_and_value : cases) {
        SCOPED_TRACE(flag_and_value[0] + " " + flag_and_value[1]);
        auto args = flag_and_value;
        args.insert(args.end(), {"--docroot", docroot_});
        expect_error_naming(parse(args), flag_and_value[0]);
    }
}

TEST_F(ParseConfig, ReadsTheFairUseOfScriptsOptionsWithTheirDefaults) {
    Config defaults = expect_config(parse({"--docroot", docroot_}));
    EXPECT_EQ(defaults.cgi_max_per_client, 32u);
    EXPECT_EQ(defaults.cgi_queue, 256u);
    EXPECT_EQ(defaults.cgi_queue_timeout, 10);
    std::string file = dir_.write_file("fair.toml", "docroot = \"" + docroot_ +
                                                        "\"\ncgi-max-per-client = 0\n"
                                                        "cgi-queue = 0\ncgi-queue-timeout = 2.5\n");
    Config c = expect_config(parse({"--config", file}));
    EXPECT_EQ(c.cgi_max_per_client, 0u);
    EXPECT_EQ(c.cgi_queue, 0u);
    EXPECT_EQ(c.cgi_queue_timeout, 2.5);
    expect_error_naming(parse({"--docroot", docroot_, "--cgi-queue-timeout", "0"}),
                        "--cgi-queue-timeout");
    expect_error_naming(parse({"--docroot", docroot_, "--cgi-max-per-client", "-1"}),
                        "--cgi-max-per-client");
}

// ---- parse_listen_address: pure, so one table ----

struct ListenCase {
    std::string text;
    std::optional<ListenAddress> expected;  // nullopt = rejected
};

TEST(ParseListenAddress, SplitsHostAndPortOrRejects) {
    const std::vector<ListenCase> cases = {
        {"127.0.0.1:8080", ListenAddress{"127.0.0.1", 8080}},
        {"0.0.0.0:0", ListenAddress{"0.0.0.0", 0}},
        {"localhost:80", ListenAddress{"localhost", 80}},
        {"example.org:65535", ListenAddress{"example.org", 65535}},
        {"[::1]:0", ListenAddress{"::1", 0}},
        {"[::]:443", ListenAddress{"::", 443}},
        {"[fe80::1%lo]:8080", ListenAddress{"fe80::1%lo", 8080}},
        {"", std::nullopt},
        {"127.0.0.1", std::nullopt},
        {"127.0.0.1:", std::nullopt},
        {":8080", std::nullopt},
        {"127.0.0.1:65536", std::nullopt},
        {"127.0.0.1:-1", std::nullopt},
        {"127.0.0.1:+80", std::nullopt},
        {"127.0.0.1: 80", std::nullopt},
        {"127.0.0.1:80x", std::nullopt},
        {"127.0.0.1:99999999999999999999", std::nullopt},
        {"::1:80", std::nullopt},  // IPv6 needs brackets
        {"[::1]", std::nullopt},
        {"[::1]:", std::nullopt},
        {"[::1]80", std::nullopt},
        {"[::1:80", std::nullopt},
        {"[]:80", std::nullopt},
        {"[127.0.0.1]:80", std::nullopt},  // brackets are for IPv6 only
    };
    for (const auto& c : cases) {
        auto parsed = parse_listen_address(c.text);
        ASSERT_EQ(parsed.has_value(), c.expected.has_value()) << "'" << c.text << "'";
        if (!parsed) continue;
        EXPECT_EQ(parsed->host, c.expected->host) << c.text;
        EXPECT_EQ(parsed->port, c.expected->port) << c.text;
    }
}

TEST(FormatListenAddress, BracketsIpv6AndRoundTrips) {
    EXPECT_EQ(format_listen_address({"127.0.0.1", 8080}), "127.0.0.1:8080");
    EXPECT_EQ(format_listen_address({"::1", 0}), "[::1]:0");
    for (const char* text : {"127.0.0.1:8080", "[::1]:0", "localhost:1", "[::]:65535"}) {
        auto parsed = parse_listen_address(text);
        ASSERT_TRUE(parsed) << text;
        EXPECT_EQ(format_listen_address(*parsed), text);
    }
}

TEST_F(ParseConfig, LeavesTheStatusUrlsOffAndTheAccessLogCombinedByDefault) {
    Config c = expect_config(parse({"--docroot", docroot_}));
    EXPECT_EQ(c.status_url, "");
    EXPECT_EQ(c.metrics_url, "");
    EXPECT_EQ(c.access_log_format, "combined");
}

TEST_F(ParseConfig, TakesStatusAndMetricsUrlsAndTheCgiAccessLogFormat) {
    Config c =
        expect_config(parse({"--docroot", docroot_, "--status-url", "/server-status",
                             "--metrics-url", "/metrics", "--access-log-format", "combined-cgi"}));
    EXPECT_EQ(c.status_url, "/server-status");
    EXPECT_EQ(c.metrics_url, "/metrics");
    EXPECT_EQ(c.access_log_format, "combined-cgi");
}

TEST_F(ParseConfig, RefusesStatusUrlsThatAreNotPlainPaths) {
    expect_error_naming(parse({"--docroot", docroot_, "--status-url", "status"}), "--status-url");
    expect_error_naming(parse({"--docroot", docroot_, "--metrics-url", "/m?x"}), "--metrics-url");
    expect_error_naming(parse({"--docroot", docroot_, "--status-url", "/s", "--metrics-url", "/s"}),
                        "--metrics-url");
    expect_exit(parse({"--docroot", docroot_, "--access-log-format", "json"}), 2);
}

}  // namespace
}  // namespace cgihost
