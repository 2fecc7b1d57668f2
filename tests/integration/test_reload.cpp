// SIGHUP reloads the configuration: the command line and its --config file are read again and,
// when they validate, apply to new requests, while requests in flight finish under the
// configuration they began with; a config that does not validate is refused and the running
// one stays. Measured under load too: a reload every second for 30 s while clients run static,
// CGI and upload requests, and not one request fails.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "auth_fixture.hpp"
#include "http_client.hpp"
#include "sha256.hpp"
#include "test_certificates.hpp"
#include "test_server.hpp"

namespace cgihost::testing {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(20);

class Reload : public ::testing::Test {
  protected:
    Reload() {
        dir_.let_anyone_write();
        dir_.write_file("www-a/index.html", "site A\n");
        dir_.write_file("www-b/index.html", "site B\n");
        dir_.write_file("www-a/data.bin", pseudo_random_bytes(size_t{64} * 1024, 7));
        dir_.write_file("www-b/data.bin", pseudo_random_bytes(size_t{64} * 1024, 7));
        std::filesystem::create_directories(dir_ / "cgi-a");
        std::filesystem::create_directories(dir_ / "cgi-empty");
        std::filesystem::copy_file(test_cgi_binary(), dir_ / "cgi-a" / "t");
    }

    // Writes the config file: `lines` after the fixed ones (listen comes from the command line).
    void write_config(const std::string& lines) const {
        dir_.write_file("cgihost.conf", "cgi-url = \"/cgi-bin/\"\n" + lines, 0644);
    }

    // `lines` go to the config file; the command line adds only --config and --threads.
    void start(const std::string& lines) {
        write_config(lines);
        server_ = std::make_unique<TestServer>(
            std::vector<std::string>{"--config", dir_.file("cgihost.conf"), "--threads", "2"});
    }

    size_t count_in_error_log(const std::string& text) const {
        return count_occurrences(server_->error_log(), text);
    }

    // Sends SIGHUP and waits (a hang guard, not a bound) for the reload's verdict line.
    // Returns true when it was applied, false when refused.
    bool reload() {
        const size_t applied = count_in_error_log("configuration reloaded on SIGHUP");
        const size_t refused = count_in_error_log("reload on SIGHUP refused");
        EXPECT_EQ(::kill(server_->pid(), SIGHUP), 0);
        const auto give_up = std::chrono::steady_clock::now() + kHangGuard;
        while (std::chrono::steady_clock::now() < give_up) {
            if (count_in_error_log("configuration reloaded on SIGHUP") > applied) return true;
            if (count_in_error_log("reload on SIGHUP refused") > refused) return false;
            std::this_thread::sleep_for(kPoll);
        }
        ADD_FAILURE() << "no reload verdict in the error log:\n" << server_->error_log();
        return false;
    }

    std::optional<HttpResponse> get(
        const std::string& target,
        const std::vector<std::pair<std::string, std::string>>& headers = {}) const {
        HttpConnection connection(server_->port());
        return connection.request("GET", target, headers);
    }

    std::string body_of(const std::string& target) const {
        auto response = get(target);
        return response ? std::to_string(response->status) + " " + response->body : "none";
    }

    TempDir dir_;
    std::unique_ptr<TestServer> server_;
};

std::string site(const std::string& docroot, const std::string& cgi_dir,
                 const std::string& generation) {
    return "docroot = \"" + docroot + "\"\ncgi-dir = \"" + cgi_dir +
           "\"\ncgi-env-set = [\"GEN=" + generation + "\"]\n";
}

TEST_F(Reload, NewRequestsGetTheNewDocrootScriptsAndEnvironment) {
    start(site(dir_.file("www-a"), dir_.file("cgi-a"), "1"));
    EXPECT_EQ(body_of("/"), "200 site A\n");
    EXPECT_NE(body_of("/cgi-bin/t?env").find("GEN=1\n"), std::string::npos);

    write_config(site(dir_.file("www-b"), dir_.file("cgi-a"), "2") +
                 "index-files = [\"index.html\"]\n");
    ASSERT_TRUE(reload()) << server_->error_log();
    EXPECT_EQ(body_of("/"), "200 site B\n");
    EXPECT_NE(body_of("/cgi-bin/t?env").find("GEN=2\n"), std::string::npos);

    write_config(site(dir_.file("www-b"), dir_.file("cgi-empty"), "3"));
    ASSERT_TRUE(reload());
    EXPECT_EQ(get("/cgi-bin/t")->status, 404);
}

TEST_F(Reload, AConfigThatDoesNotValidateIsRefusedAndTheRunningOneStays) {
    start(site(dir_.file("www-a"), dir_.file("cgi-a"), "1"));
    write_config(site(dir_.file("www-b"), dir_.file("cgi-a"), "2") + "bogus-key = 1\n");
    EXPECT_FALSE(reload());
    EXPECT_NE(server_->error_log().find("bogus-key"), std::string::npos) << server_->error_log();
    EXPECT_EQ(body_of("/"), "200 site A\n");

    write_config(site(dir_.file("no-such-docroot"), dir_.file("cgi-a"), "2"));
    EXPECT_FALSE(reload());
    EXPECT_EQ(body_of("/"), "200 site A\n");

    write_config(site(dir_.file("www-b"), dir_.file("cgi-a"), "2") + "cgi-timeout = -5\n");
    EXPECT_FALSE(reload());
    EXPECT_NE(body_of("/cgi-bin/t?env").find("GEN=1\n"), std::string::npos);

    // A password file that cannot be read refuses the whole reload, docroot included.
    write_config(site(dir_.file("www-b"), dir_.file("cgi-a"), "2") +
                 "basic-auth = [\"/private=" + dir_.file("missing.htpasswd") + "\"]\n");
    EXPECT_FALSE(reload());
    EXPECT_EQ(body_of("/"), "200 site A\n");

    std::filesystem::remove(dir_ / "cgihost.conf");
    EXPECT_FALSE(reload());
    EXPECT_EQ(body_of("/"), "200 site A\n");
    EXPECT_EQ(::kill(server_->pid(), 0), 0) << "a refused reload must not stop the server";
}

TEST_F(Reload, ARequestInFlightFinishesUnderTheConfigurationItBeganWith) {
    // Begun under cgi-timeout = 60, the script writes, then stays silent for longer than the
    // new config's cgi-timeout of 1 s, then writes again: it is answered whole. A request
    // begun after the reload, as silent, is cut off (504).
    start(site(dir_.file("www-a"), dir_.file("cgi-a"), "1") + "cgi-timeout = 60\n");
    const std::string started = dir_.file("started");
    const std::string gate = dir_.file("gate");
    HttpConnection in_flight(server_->port());
    in_flight.send_raw("GET /cgi-bin/t?touch=" + started + "&wait-for=" + gate +
                       "&env&body=first&sleep=2.5&body=second HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto give_up = std::chrono::steady_clock::now() + kHangGuard;
    while (!std::filesystem::exists(started) && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(kPoll);
    ASSERT_TRUE(std::filesystem::exists(started)) << "the script never started";

    write_config(site(dir_.file("www-b"), dir_.file("cgi-a"), "2") + "cgi-timeout = 1\n");
    ASSERT_TRUE(reload());
    dir_.write_file("gate", "");
    auto timed_out = get("/cgi-bin/t?sleep=3&body=late");
    ASSERT_TRUE(timed_out);
    EXPECT_EQ(timed_out->status, 504) << "the new request runs under cgi-timeout = 1";

    auto response = in_flight.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_NE(response->body.find("GEN=1\n"), std::string::npos) << response->body;
    EXPECT_NE(response->body.find("firstsecond"), std::string::npos)
        << "cut off under the new timeout: " << response->body;
    EXPECT_EQ(body_of("/"), "200 site B\n");
}

// A password file only root may read was read at startup; the reload, running as the
// server's user, keeps those users rather than refusing (which would also refuse a renewed
// certificate).
TEST_F(Reload, APasswordFileOnlyRootMayReadKeepsItsUsers) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs a root-started server that drops privileges";
    const std::string users = dir_.file("users.htpasswd");
    dir_.write_file("users.htpasswd", "alice:" + openssl_passwd("-5", "first") + "\n", 0600);
    dir_.write_file("www-b/private/index.html", "secret\n");
    const std::string auth = "basic-auth = [\"/private=" + users + "\"]\n";
    start(site(dir_.file("www-a"), dir_.file("cgi-a"), "1") + auth);
    write_config(site(dir_.file("www-b"), dir_.file("cgi-a"), "2") + auth);
    ASSERT_TRUE(reload()) << server_->error_log();
    EXPECT_NE(server_->error_log().find("keeping the users read at startup"), std::string::npos)
        << server_->error_log();
    EXPECT_EQ(get("/private/", {basic_auth("alice", "first")})->status, 200);
    EXPECT_EQ(get("/private/")->status, 401);
    EXPECT_EQ(body_of("/"), "200 site B\n");
}

// TLS options are validated against listen-tls; a reload cannot add or remove HTTPS
// listeners, so it is refused rather than, say, redirecting every request to port 0.
TEST_F(Reload, AddingHttpsListenersIsLeftToARestartAndRefused) {
    std::filesystem::create_directories(dir_ / "ca");
    TestCertificateAuthority ca(dir_ / "ca");
    ASSERT_TRUE(ca.ok());
    const ServerCertificate certificate = ca.issue("reload");
    // Readable by the server's user, so that only the listener change can refuse the reload.
    std::filesystem::permissions(certificate.key, std::filesystem::perms(0644));
    start(site(dir_.file("www-a"), dir_.file("cgi-a"), "1"));
    write_config(site(dir_.file("www-b"), dir_.file("cgi-a"), "2") +
                 "listen-tls = [\"127.0.0.1:0\"]\ntls-cert = \"" + certificate.cert +
                 "\"\ntls-key = \"" + certificate.key + "\"\nredirect-to-https = true\n");
    EXPECT_FALSE(reload());
    EXPECT_NE(server_->error_log().find("--listen-tls changed"), std::string::npos)
        << server_->error_log();
    EXPECT_EQ(body_of("/"), "200 site A\n");
}

TEST_F(Reload, OptionsOnlyARestartCanChangeAreNamedAndKept) {
    start(site(dir_.file("www-a"), dir_.file("cgi-a"), "1") + "max-connections = 500\n");
    write_config(site(dir_.file("www-b"), dir_.file("cgi-a"), "2") + "max-connections = 10\n");
    ASSERT_TRUE(reload()) << server_->error_log();
    const std::string log = server_->error_log();
    EXPECT_NE(log.find("changed but left for a restart: --max-connections"), std::string::npos)
        << log;
    EXPECT_EQ(body_of("/"), "200 site B\n");
}

TEST_F(Reload, AccessRulesAndPasswordFilesAreReadAgain) {
    const std::string users = dir_.file("users.htpasswd");
    dir_.write_file("users.htpasswd", "alice:" + openssl_passwd("-5", "first") + "\n");
    dir_.write_file("www-a/private/index.html", "secret\n");
    const std::string auth = "basic-auth = [\"/private=" + users + "\"]\n";
    start(site(dir_.file("www-a"), dir_.file("cgi-a"), "1") + auth);
    EXPECT_EQ(get("/private/", {basic_auth("alice", "first")})->status, 200);

    dir_.write_file("users.htpasswd", "alice:" + openssl_passwd("-5", "second") + "\n");
    write_config(site(dir_.file("www-a"), dir_.file("cgi-a"), "1") + auth +
                 "allow = [\"/cgi-bin=10.0.0.0/8\"]\n");
    ASSERT_TRUE(reload()) << server_->error_log();
    EXPECT_EQ(get("/private/", {basic_auth("alice", "first")})->status, 401);
    EXPECT_EQ(get("/private/", {basic_auth("alice", "second")})->status, 200);
    EXPECT_EQ(get("/cgi-bin/t?body=x")->status, 403);
}

TEST_F(Reload, LogLevelChangesWithTheReload) {
    // Under "warn" the reload's info line would not be written unless the new level applies.
    const std::string users = dir_.file("users.htpasswd");
    dir_.write_file("users.htpasswd", "alice:" + openssl_passwd("-5", "first") + "\n");
    const std::string auth = "basic-auth = [\"/private=" + users + "\"]\n";
    start(site(dir_.file("www-a"), dir_.file("cgi-a"), "1") + auth + "log-level = \"warn\"\n");
    write_config(site(dir_.file("www-a"), dir_.file("cgi-a"), "1") + auth +
                 "log-level = \"debug\"\n");
    ASSERT_TRUE(reload());
    // Debug lines now appear: a password check writes one.
    EXPECT_EQ(get("/private/", {basic_auth("alice", "first")})->status, 404);
    const auto give_up = std::chrono::steady_clock::now() + kHangGuard;
    while (server_->error_log().find("[debug] basic auth: checking") == std::string::npos &&
           std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(kPoll);
    EXPECT_NE(server_->error_log().find("[debug] basic auth: checking"), std::string::npos)
        << server_->error_log();
}

// Three clients (static, CGI, upload), each one request after another on keep-alive
// connections, while the config is rewritten and reloaded every second for 30 s. Every
// request must succeed, each client must see the generations in order, and all of them must
// see the last one.
TEST_F(Reload, EverySecondFor30SecondsUnderLoadNoRequestFails) {
    constexpr int kReloads = 30;
    start(site(dir_.file("www-a"), dir_.file("cgi-a"), "0"));
    const std::string data = read_file(dir_ / "www-a" / "data.bin");
    const std::string upload =
        pseudo_random_bytes(size_t{300} * 1024, 11);  // beyond the spool threshold
    const std::string upload_sha = sha256_hex(upload);
    std::atomic<bool> stop{false};
    std::atomic<int> last_generation{0};
    struct Tally {
        std::atomic<int> requests{0};
        std::vector<std::string> failures;
        int highest_generation = 0;
    };
    std::vector<Tally> tallies(3);

    auto client = [&](int kind) {
        Tally& tally = tallies[static_cast<size_t>(kind)];
        auto connection = std::make_unique<HttpConnection>(server_->port());
        while (!stop.load()) {
            std::optional<HttpResponse> response;
            if (kind == 0) {
                response = connection->request("GET", "/data.bin");
            } else if (kind == 1) {
                response = connection->request("GET", "/cgi-bin/t?env");
            } else {
                response = connection->request("POST", "/cgi-bin/t?body-sha256", {}, upload);
            }
            ++tally.requests;
            std::string failure;
            if (!response) {
                failure = "no response";
            } else if (response->status != 200) {
                failure = "status " + std::to_string(response->status);
            } else if (kind == 0 && response->body != data) {
                failure = "wrong static body";
            } else if (kind == 2 &&
                       response->body.find("sha256=" + upload_sha) == std::string::npos) {
                failure = "upload damaged: " + response->body;
            } else if (kind == 1) {
                const auto at = response->body.find("GEN=");
                const int generation =
                    at == std::string::npos ? -1 : std::atoi(response->body.c_str() + at + 4);
                if (generation < tally.highest_generation) {
                    failure = "generation went back from " +
                              std::to_string(tally.highest_generation) + " to " +
                              std::to_string(generation);
                }
                tally.highest_generation = std::max(tally.highest_generation, generation);
            }
            if (!failure.empty()) tally.failures.push_back(failure);
            if (!response || response->closed) {
                connection = std::make_unique<HttpConnection>(server_->port());
            }
        }
    };
    std::vector<std::thread> clients;
    clients.reserve(tallies.size());
    for (int kind = 0; kind < 3; ++kind)
        clients.emplace_back(client, kind);
    for (int generation = 1; generation <= kReloads; ++generation) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        write_config(site(dir_.file(generation % 2 == 0 ? "www-a" : "www-b"), dir_.file("cgi-a"),
                          std::to_string(generation)));
        EXPECT_TRUE(reload());
        last_generation = generation;
    }
    // One more round for each client after the last reload.
    std::vector<int> seen;
    seen.reserve(tallies.size());
    for (const auto& tally : tallies)
        seen.push_back(tally.requests);
    const auto give_up = std::chrono::steady_clock::now() + kHangGuard;
    for (size_t i = 0; i < tallies.size(); ++i) {
        while (tallies[i].requests < seen[i] + 2 && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(kPoll);
    }
    stop = true;
    for (auto& thread : clients)
        thread.join();
    int total = 0;
    for (size_t i = 0; i < tallies.size(); ++i) {
        total += tallies[i].requests;
        EXPECT_GT(tallies[i].requests, seen[i]) << "client " << i << " stalled";
        EXPECT_TRUE(tallies[i].failures.empty())
            << "client " << i << ": " << tallies[i].failures.size() << " of "
            << tallies[i].requests.load() << " failed, first: " << tallies[i].failures.front();
    }
    EXPECT_EQ(tallies[1].highest_generation, last_generation.load());
    std::printf(
        "reload under load: %d reloads, %d requests (static %d, cgi %d, upload %d), 0 "
        "failures expected\n",
        kReloads, total, tallies[0].requests.load(), tallies[1].requests.load(),
        tallies[2].requests.load());
    EXPECT_EQ(count_in_error_log("reload on SIGHUP refused"), 0U);
}

}  // namespace
}  // namespace cgihost::testing
