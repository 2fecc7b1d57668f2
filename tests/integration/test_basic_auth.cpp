// Basic authentication (RFC 7617; RFC 3875 §4.1.1 AUTH_TYPE, §4.1.11 REMOTE_USER) against the
// real binary: --basic-auth PREFIX=HTPASSWD_FILE protects static files and scripts alike, the
// longest prefix wins, passwords are checked off the event loops, recent successes are
// remembered, and guessing is slowed and then refused (429).
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "auth_fixture.hpp"
#include "sha256.hpp"

namespace cgihost::testing {
namespace {

class BasicAuth : public AuthTest {
  protected:
    BasicAuth() {
        add_bcrypt_user("users.htpasswd", "alice", "wonderland");
        add_line("users.htpasswd", "sam:" + openssl_passwd("-5", "sha256 pass"));
        add_line("users.htpasswd", "sophie:" + openssl_passwd("-6", "sha512:pass"));
    }

    void start_protected(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"--basic-auth", "/private=" + site_.file("users.htpasswd"),
                                      "--basic-auth-realm", "Test \"realm\""};
        args.insert(args.end(), extra.begin(), extra.end());
        start(args);
    }
};

constexpr const char* kChecking = "basic auth: checking the password of user 'victim'";
constexpr const char* kDropped = "a verdict came for a request that is gone; dropped";

std::string guess_request(const std::string& password) {
    auto [name, value] = basic_auth("victim", password);
    return "GET /private/secret.html HTTP/1.1\r\nHost: t\r\n" + name + ": " + value + "\r\n\r\n";
}

// Reads whether a response has begun to arrive on `fd`, without waiting.
bool has_answer(int fd) {
    pollfd pfd{fd, POLLIN, 0};
    return ::poll(&pfd, 1, 0) > 0;
}

TEST_F(BasicAuth, AnswersARequestWithoutCredentialsWith401AndAChallenge) {
    start_protected();
    auto response = get("/private/secret.html");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 401);
    EXPECT_EQ(response->header("WWW-Authenticate"),
              "Basic realm=\"Test \\\"realm\\\"\", charset=\"UTF-8\"");
    EXPECT_EQ(response->header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_NE(response->body.find("401 Unauthorized"), std::string::npos);
    EXPECT_EQ(response->body.find("top secret"), std::string::npos);
}

TEST_F(BasicAuth, AnswersAWrongPasswordUnknownUserOrMalformedHeaderWith401) {
    start_protected();
    for (const Headers& headers :
         {Headers{basic_auth("alice", "Wonderland")}, Headers{basic_auth("nobody", "x")},
          Headers{{"Authorization", "Basic not-base64!"}},
          Headers{{"Authorization", "Bearer abc"}}}) {
        auto response = get("/private/secret.html", headers);
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 401) << headers[0].second;
        EXPECT_TRUE(response->has_header("WWW-Authenticate"));
    }
    EXPECT_TRUE(error_log_contains("basic auth: wrong password for user 'alice'"));
    EXPECT_TRUE(error_log_contains("basic auth: unknown user 'nobody'"));
}

TEST_F(BasicAuth, AcceptsBcryptSha256CryptAndSha512CryptPasswords) {
    start_protected();
    for (const auto& [user, password] : std::vector<std::pair<std::string, std::string>>{
             {"alice", "wonderland"}, {"sam", "sha256 pass"}, {"sophie", "sha512:pass"}}) {
        auto response = get("/private/secret.html", {basic_auth(user, password)});
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 200) << user;
        EXPECT_EQ(response->body, "top secret\n") << user;
    }
}

// A protected file once served (and so held in the worker's file cache, which answers small
// files before evhttp sees the request) is still refused to a client without the password.
TEST_F(BasicAuth, AFileServedToAUserIsNotGivenFromMemoryToAnother) {
    start_protected();
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the file counts as settled
    HttpConnection connection(server_->port());
    for (int i = 0; i < 3; ++i) {
        auto allowed =
            connection.request("GET", "/private/secret.html", {basic_auth("alice", "wonderland")});
        ASSERT_TRUE(allowed);
        EXPECT_EQ(allowed->status, 200);
        EXPECT_EQ(allowed->body, "top secret\n");
        auto refused = connection.request("GET", "/private/secret.html");
        ASSERT_TRUE(refused);
        EXPECT_EQ(refused->status, 401);
        EXPECT_EQ(refused->body.find("top secret"), std::string::npos);
        auto head = connection.request("HEAD", "/private/secret.html");
        ASSERT_TRUE(head);
        EXPECT_EQ(head->status, 401);
    }
}

TEST_F(BasicAuth, ProtectsThePrefixOnSegmentBoundariesWhateverTheSpelling) {
    start_protected();
    for (const char* target :
         {"/private", "/private/", "/private/secret.html", "/public/../private/secret.html",
          "/%70rivate/secret.html", "/private//secret.html", "/./private/secret.html",
          "/private/nonexistent"}) {
        auto response = get(target);
        ASSERT_TRUE(response) << target;
        EXPECT_EQ(response->status, 401) << target;
    }
    auto neighbour = get("/privateer/open.html");
    ASSERT_TRUE(neighbour);
    EXPECT_EQ(neighbour->status, 200);
}

TEST_F(BasicAuth, TheLongestPrefixWins) {
    add_bcrypt_user("inner.htpasswd", "bob", "builder");
    start_protected({"--basic-auth", "/private/inner/=" + site_.file("inner.htpasswd")});
    auto outer = get("/private/secret.html", {basic_auth("alice", "wonderland")});
    auto inner_as_alice = get("/private/inner/deeper.html", {basic_auth("alice", "wonderland")});
    auto inner_as_bob = get("/private/inner/deeper.html", {basic_auth("bob", "builder")});
    auto outer_as_bob = get("/private/secret.html", {basic_auth("bob", "builder")});
    ASSERT_TRUE(outer && inner_as_alice && inner_as_bob && outer_as_bob);
    EXPECT_EQ(outer->status, 200);
    EXPECT_EQ(inner_as_alice->status, 401);
    EXPECT_EQ(inner_as_bob->status, 200);
    EXPECT_EQ(inner_as_bob->body, "deeper\n");
    EXPECT_EQ(outer_as_bob->status, 401);
}

TEST_F(BasicAuth, ProtectsScriptsBeforeTheyRun) {
    site_.let_anyone_write();
    const std::string marker = site_.file("ran");
    start({"--basic-auth", "/cgi-bin/t=" + site_.file("users.htpasswd")});
    auto response = get("/cgi-bin/t/extra?touch=" + marker);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 401);
    auto unprotected = get("/cgi-bin/sub/t2?env");
    ASSERT_TRUE(unprotected);
    EXPECT_EQ(unprotected->status, 200);
    EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST_F(BasicAuth, GivesScriptsAuthTypeAndRemoteUserButNotTheAuthorizationHeader) {
    start({"--basic-auth", "/cgi-bin=" + site_.file("users.htpasswd")});
    auto env = fetch_lines("/cgi-bin/t?env", {basic_auth("sophie", "sha512:pass")});
    EXPECT_EQ(env["AUTH_TYPE"], "Basic");
    EXPECT_EQ(env["REMOTE_USER"], "sophie");
    EXPECT_EQ(env.count("HTTP_AUTHORIZATION"), 0u);
}

TEST_F(BasicAuth, PassesTheAuthorizationHeaderOnlyWhenAskedTo) {
    start({"--basic-auth", "/cgi-bin=" + site_.file("users.htpasswd"), "--cgi-pass-authorization",
           "true"});
    auto env = fetch_lines("/cgi-bin/t?env", {basic_auth("alice", "wonderland")});
    EXPECT_EQ(env["REMOTE_USER"], "alice");
    EXPECT_EQ(env["HTTP_AUTHORIZATION"], basic_auth("alice", "wonderland").second);
}

TEST_F(BasicAuth, ScriptsOutsideEveryAreaSeeNoUser) {
    start_protected();
    auto env = fetch_lines("/cgi-bin/t?env", {basic_auth("alice", "wonderland")});
    EXPECT_EQ(env.count("REMOTE_USER"), 0u);
    EXPECT_EQ(env.count("AUTH_TYPE"), 0u);
}

TEST_F(BasicAuth, WritesTheUserInTheAccessLog) {
    start_protected();
    ASSERT_EQ(get("/private/secret.html", {basic_auth("alice", "wonderland")})->status, 200);
    ASSERT_EQ(get("/private/secret.html")->status, 401);
    ASSERT_TRUE(
        wait_until([&] { return server_->access_log().find("\" 401 ") != std::string::npos; }));
    const std::string log = server_->access_log();
    EXPECT_NE(log.find("127.0.0.1 - alice ["), std::string::npos) << log;
    EXPECT_NE(log.find("127.0.0.1 - - ["), std::string::npos) << log;
}

TEST_F(BasicAuth, ALocalRedirectIntoAnAreaNeedsItsCredentialsAndKeepsTheUser) {
    start_protected({"--basic-auth", "/cgi-bin/sub=" + site_.file("users.htpasswd")});
    auto without = get("/cgi-bin/t?location=/private/secret.html");
    ASSERT_TRUE(without);
    EXPECT_EQ(without->status, 401);
    auto with =
        get("/cgi-bin/t?location=/private/secret.html", {basic_auth("alice", "wonderland")});
    ASSERT_TRUE(with);
    EXPECT_EQ(with->status, 200);
    EXPECT_EQ(with->body, "top secret\n");
    // Authenticated for the first script, the user stays REMOTE_USER of the one it redirects to.
    auto env = fetch_lines("/cgi-bin/sub/t2?location=" + encode_query("/cgi-bin/t?env"),
                           {basic_auth("sam", "sha256 pass")});
    EXPECT_EQ(env["REMOTE_USER"], "sam");
}

TEST_F(BasicAuth, RefusedEntriesAreLoggedAtStartupAndTheirUsersCannotLogIn) {
    add_line("users.htpasswd", run_command("htpasswd -nbm bob secret | head -1"));
    add_line("users.htpasswd", "carol:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=");
    add_line("users.htpasswd", "dave:7kGxGZwxygzVs");
    add_line("users.htpasswd", "erin:plain-secret");
    start_protected();
    EXPECT_TRUE(
        error_log_contains("user 'bob' has a Apache MD5 ($apr1$) password, which is refused"));
    EXPECT_TRUE(error_log_contains("user 'carol' has a unsalted SHA-1 ({SHA}) password"));
    EXPECT_TRUE(error_log_contains("user 'dave' has a DES crypt password"));
    EXPECT_TRUE(error_log_contains("user 'erin' has a plaintext or an unknown scheme password"));
    auto response = get("/private/secret.html", {basic_auth("erin", "plain-secret")});
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 401);
    auto alice = get("/private/secret.html", {basic_auth("alice", "wonderland")});
    ASSERT_TRUE(alice);
    EXPECT_EQ(alice->status, 200);
}

TEST_F(BasicAuth, AMalformedOrMissingPasswordFileStopsStartupWithStatus2) {
    site_.write_file("bad.htpasswd", "# fine\nno colon\n");
    auto malformed = run_cgihost({"--docroot", docroot().string(), "--listen", "127.0.0.1:0",
                                  "--basic-auth", "/x=" + site_.file("bad.htpasswd")});
    EXPECT_EQ(malformed.exit_status, 2);
    EXPECT_NE(malformed.err.find("bad.htpasswd:2: not user:hash"), std::string::npos)
        << malformed.err;
    auto missing = run_cgihost({"--docroot", docroot().string(), "--listen", "127.0.0.1:0",
                                "--basic-auth", "/x=" + site_.file("missing.htpasswd")});
    EXPECT_EQ(missing.exit_status, 2);
    EXPECT_NE(missing.err.find("missing.htpasswd"), std::string::npos) << missing.err;
    auto no_file = run_cgihost({"--docroot", docroot().string(), "--basic-auth", "/x"});
    EXPECT_EQ(no_file.exit_status, 2);
    EXPECT_NE(no_file.err.find("--basic-auth"), std::string::npos) << no_file.err;
}

TEST_F(BasicAuth, ReadsAPasswordFileOnlyRootMayReadBeforeDroppingPrivileges) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: only then does the server change users";
    std::filesystem::permissions(site_.file("users.htpasswd"), std::filesystem::perms(0600));
    start_protected({"--user", "www-data", "--cgi-user", "nobody"});
    EXPECT_TRUE(error_log_contains("running as www-data"));
    auto response = get("/private/secret.html", {basic_auth("alice", "wonderland")});
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
}

TEST_F(BasicAuth, TheOptionsAreConfigFileKeysAndAppearInHelp) {
    site_.write_file("cgihost.conf", "basic-auth = [\"/private=" + site_.file("users.htpasswd") +
                                         "\"]\nbasic-auth-realm = \"From the file\"\n"
                                         "allow = [\"/public=10.0.0.0/8\"]\n");
    start({"--config", site_.file("cgihost.conf")});
    auto challenge = get("/private/secret.html");
    auto refused = get("/public/page.html");
    ASSERT_TRUE(challenge && refused);
    EXPECT_EQ(challenge->status, 401);
    EXPECT_EQ(challenge->header("WWW-Authenticate"),
              "Basic realm=\"From the file\", charset=\"UTF-8\"");
    EXPECT_EQ(refused->status, 403);
    auto help = run_cgihost({"--help"});
    for (const char* option :
         {"--basic-auth", "--basic-auth-realm", "--allow", "--auth-max-failures",
          "--auth-failure-window", "--auth-max-delay", "--auth-verify-queue"}) {
        EXPECT_NE(help.out.find(option), std::string::npos) << option;
    }
}

TEST_F(BasicAuth, ABurstOfGoodRequestsCostsOneVerification) {
    start_protected();
    HttpConnection connection(port());
    for (int i = 0; i < 5; ++i) {
        auto response =
            connection.request("GET", "/private/secret.html", {basic_auth("alice", "wonderland")});
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 200);
    }
    ASSERT_TRUE(error_log_contains("basic auth: verified user 'alice'"));
    EXPECT_EQ(count_in_error_log("basic auth: verified user 'alice'"), 1u);
    // Another password for the same user is not taken from the memory of the first.
    auto wrong = connection.request("GET", "/private/secret.html", {basic_auth("alice", "x")});
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401);
}

TEST_F(BasicAuth, ASimultaneousBurstOfGoodRequestsCostsOneVerification) {
    add_bcrypt_user("slow.htpasswd", "victim", "correct horse", 11);
    start({"--basic-auth", "/private=" + site_.file("slow.htpasswd"), "--log-level", "debug"});
    constexpr size_t kBurst = 8;
    std::vector<std::unique_ptr<HttpConnection>> browsers;
    for (size_t i = 0; i < kBurst; ++i) {
        browsers.push_back(std::make_unique<HttpConnection>(port()));
        browsers.back()->send_raw(guess_request("correct horse"));
    }
    for (const auto& browser : browsers) {
        auto response = browser->read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 200);
    }
    // Those that came while the check ran joined it; those after it found it remembered.
    EXPECT_EQ(count_in_error_log("basic auth: verified user 'victim'"), 1u);
}

TEST_F(BasicAuth, AClientThatKeepsGuessingGets429WithRetryAfter) {
    start_protected({"--auth-max-failures", "3", "--auth-max-delay", "0.1"});
    for (int i = 0; i < 3; ++i) {
        auto response =
            get("/private/secret.html", {basic_auth("alice", "guess" + std::to_string(i))});
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 401) << i;
    }
    // Blocked now, the right password included: it is not even checked.
    auto blocked = get("/private/secret.html", {basic_auth("alice", "wonderland")});
    ASSERT_TRUE(blocked);
    EXPECT_EQ(blocked->status, 429);
    EXPECT_GT(std::stoi(blocked->header("Retry-After")), 0);
    EXPECT_EQ(count_in_error_log("verified user 'alice'"), 0u);
    // Pages outside the area are not affected.
    auto open = get("/public/page.html");
    ASSERT_TRUE(open);
    EXPECT_EQ(open->status, 200);
}

TEST_F(BasicAuth, StaticFilesAndScriptsAnswerWhileManyWrongBcryptPasswordsAreChecked) {
    add_bcrypt_user("slow.htpasswd", "victim", "correct horse", 11);
    start({"--basic-auth", "/private=" + site_.file("slow.htpasswd"), "--auth-max-failures", "0",
           "--auth-max-delay", "0", "--log-level", "debug"});
    constexpr size_t kGuessers = 50;
    std::vector<std::unique_ptr<HttpConnection>> guessers;
    for (size_t i = 0; i < kGuessers; ++i) {
        guessers.push_back(std::make_unique<HttpConnection>(port()));
        guessers.back()->send_raw(guess_request("guess " + std::to_string(i)));
    }
    // Every guess waits for a verifier thread before these two are asked; they come first.
    ASSERT_TRUE(wait_until([&] { return count_in_error_log(kChecking) == kGuessers; }));
    auto page = get("/public/page.html");
    auto script = get("/cgi-bin/t?env");
    ASSERT_TRUE(page && script);
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(script->status, 200);
    size_t answered = 0;
    for (const auto& guesser : guessers)
        answered += has_answer(guesser->fd()) ? 1 : 0;
    EXPECT_LT(answered, kGuessers);
    for (const auto& guesser : guessers) {
        auto response = guesser->read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 401);
    }
    EXPECT_EQ(count_in_error_log("wrong password for user 'victim'"), kGuessers);
}

TEST_F(BasicAuth, EachFurtherWrongPasswordWaitsLongerAndAClientMayLeaveWhileItWaits) {
    start_protected({"--auth-max-failures", "0", "--auth-max-delay", "60", "--log-level", "debug"});
    constexpr size_t kGuesses = 8;
    std::vector<std::unique_ptr<HttpConnection>> guessers;
    for (size_t i = 0; i < kGuesses; ++i) {
        guessers.push_back(std::make_unique<HttpConnection>(port()));
        guessers.back()->send_raw(
            "GET /private/secret.html HTTP/1.1\r\nHost: t\r\nAuthorization: " +
            basic_auth("sam", "guess " + std::to_string(i)).second + "\r\n\r\n");
    }
    // Two free failures, then 0.5, 1, 2, 4, 8 and 16 s before the 401.
    for (const char* wait :
         {" waits 0.5 s", " waits 1 s", " waits 2 s", " waits 4 s", " waits 8 s", " waits 16 s"}) {
        EXPECT_TRUE(error_log_contains(wait)) << wait;
    }
    EXPECT_EQ(count_in_error_log("basic auth: the 401 to 127.0.0.1 waits"), kGuesses - 2);
    for (auto& guesser : guessers)
        guesser->close();
    // The longest waits are cut short by their clients' leaving, not served to no one.
    EXPECT_TRUE(error_log_contains("127.0.0.1 left before its answer for user 'sam'"));
    auto page = get("/public/page.html");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(server_->stop(), 0);
}

TEST_F(BasicAuth, AFullVerificationQueueAnswers503WithRetryAfter) {
    add_bcrypt_user("slow.htpasswd", "victim", "correct horse", 12);
    start({"--basic-auth", "/private=" + site_.file("slow.htpasswd"), "--auth-max-failures", "0",
           "--auth-max-delay", "0", "--auth-verify-queue", "1"});
    constexpr size_t kGuessers = 20;
    std::vector<std::unique_ptr<HttpConnection>> guessers;
    for (size_t i = 0; i < kGuessers; ++i) {
        guessers.push_back(std::make_unique<HttpConnection>(port()));
        guessers.back()->send_raw(guess_request("guess " + std::to_string(i)));
    }
    size_t unavailable = 0;
    for (const auto& guesser : guessers) {
        auto response = guesser->read_response();
        ASSERT_TRUE(response);
        if (response->status == 503) {
            ++unavailable;
            EXPECT_EQ(response->header("Retry-After"), "1");
        } else {
            EXPECT_EQ(response->status, 401);
        }
    }
    // One check runs and one waits while the others arrive: they cannot all have had a place.
    EXPECT_GT(unavailable, 0u);
    EXPECT_TRUE(error_log_contains("basic auth: the password queue is full"));
}

TEST_F(BasicAuth, AClientThatLeavesWhileItsPasswordIsCheckedLeavesNothingBehind) {
    add_bcrypt_user("slow.htpasswd", "victim", "correct horse", 11);
    start({"--basic-auth", "/private=" + site_.file("slow.htpasswd"), "--auth-max-failures", "0",
           "--auth-max-delay", "0", "--log-level", "debug"});
    // Wrong guesses that stay keep the verifier busy, so the leavers' checks come later than
    // their leaving, whatever the machine's load.
    constexpr size_t kBlockers = 10;
    std::vector<std::unique_ptr<HttpConnection>> blockers;
    for (size_t i = 0; i < kBlockers; ++i) {
        blockers.push_back(std::make_unique<HttpConnection>(port()));
        blockers.back()->send_raw(guess_request("guess " + std::to_string(i)));
    }
    ASSERT_TRUE(wait_until([&] { return count_in_error_log(kChecking) == kBlockers; }));
    constexpr size_t kLeavers = 5;
    for (size_t i = 0; i < kLeavers; ++i) {
        HttpConnection leaver(port());
        leaver.send_raw(guess_request("correct horse"));
        ASSERT_TRUE(wait_until([&] { return count_in_error_log(kChecking) == kBlockers + i + 1; }));
    }  // each hangs up once its password is queued
    // Each request is forgotten, and each verdict that comes later is dropped.
    ASSERT_TRUE(
        wait_until([&] { return count_in_error_log(" left before its answer") == kLeavers; }));
    ASSERT_TRUE(wait_until([&] { return count_in_error_log(kDropped) == kLeavers; }));
    for (const auto& blocker : blockers) {
        auto answer = blocker->read_response();
        ASSERT_TRUE(answer);
        EXPECT_EQ(answer->status, 401);
    }
    auto response = get("/private/secret.html", {basic_auth("victim", "correct horse")});
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(server_->stop(), 0);
}

// The head of a POST of `length` bytes to `target`, with `extra` header lines ("Name: v\r\n").
std::string upload_head(const std::string& target, uint64_t length, const std::string& extra) {
    return "POST " + target + " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(length) +
           "\r\n" + extra + "\r\n";
}

TEST_F(BasicAuth, AnswersExpectContinueWithoutCredentialsWith401InsteadOf100) {
    start_protected({"--max-body-size", "128MiB"});
    for (const std::string& authorization :
         {std::string{}, std::string{"Authorization: Bearer x\r\n"}}) {
        HttpConnection connection(port());
        connection.send_raw(upload_head("/private/upload", uint64_t{100} * 1024 * 1024,
                                        "Expect: 100-continue\r\n" + authorization));
        auto response = connection.read_response();
        ASSERT_TRUE(response) << authorization;
        EXPECT_EQ(response->status, 401) << "a 100 Continue came first?";
        EXPECT_EQ(response->header("WWW-Authenticate"),
                  "Basic realm=\"Test \\\"realm\\\"\", charset=\"UTF-8\"");
        EXPECT_TRUE(connection.wait_closed());
    }
    EXPECT_TRUE(error_log_contains("the access rules refuse it before its body (401)"));
    EXPECT_NE(server_->access_log().find("\"POST /private/upload HTTP/1.1\" 401 "),
              std::string::npos)
        << server_->access_log();
}

TEST_F(BasicAuth, RefusesALargeBodyWithoutCredentialsBeforeStoringAnyOfIt) {
    const std::filesystem::path spool = site_ / "spool";
    std::filesystem::create_directories(spool);
    std::filesystem::permissions(spool, std::filesystem::perms::all);  // for the dropped user
    start({"--basic-auth", "/cgi-bin=" + site_.file("users.htpasswd"), "--body-spool-dir",
           spool.string()});
    // Without its spool directory, a body the server began to store would get 500: the 401
    // can only come if no byte of the body was stored.
    std::filesystem::remove(spool);
    const std::string body(8 * 1024 * 1024, 'x');
    HttpConnection connection(port());
    connection.send_raw(upload_head("/cgi-bin/t?body-sha256", body.size(), "") + body);
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 401);
    EXPECT_TRUE(response->has_header("WWW-Authenticate"));
    EXPECT_FALSE(error_log_contains("cannot make a temporary file", std::chrono::milliseconds(0)));
    // The same body with credentials is stored, so here it meets the missing directory.
    auto stored = http_request(port(), "POST", "/cgi-bin/t?body-sha256",
                               {basic_auth("alice", "wonderland")}, body);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->status, 500);
    EXPECT_TRUE(error_log_contains("cannot make a temporary file"));
}

TEST_F(BasicAuth, AnswersExpectContinueFromAThrottledClientWith429InsteadOf100) {
    start_protected({"--auth-max-failures", "2", "--auth-max-delay", "0.1"});
    for (int i = 0; i < 2; ++i) {
        auto response =
            get("/private/secret.html", {basic_auth("alice", "guess" + std::to_string(i))});
        ASSERT_TRUE(response);
        ASSERT_EQ(response->status, 401) << i;
    }
    auto [name, value] = basic_auth("alice", "wonderland");
    HttpConnection connection(port());
    connection.send_raw(upload_head("/private/upload", 1024 * 1024,
                                    "Expect: 100-continue\r\n" + name + ": " + value + "\r\n"));
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 429) << "a 100 Continue came first?";
    EXPECT_GT(std::stoi(response->header("Retry-After")), 0);
}

TEST_F(BasicAuth, AMalformedUploadIsStillRefusedAsMalformedRatherThanChallenged) {
    start_protected();
    HttpConnection connection(port());
    connection.send_raw("POST /private/upload HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400);  // no Host header, which on_request checks first
}

TEST_F(BasicAuth, AnUploadWithCredentialsGets100ContinueAndReachesTheScript) {
    start({"--basic-auth", "/cgi-bin=" + site_.file("users.htpasswd")});
    auto [name, value] = basic_auth("alice", "wonderland");
    const std::string body(300000, 'y');
    HttpConnection connection(port());
    connection.send_raw(upload_head("/cgi-bin/t?body-sha256", body.size(),
                                    "Expect: 100-continue\r\n" + name + ": " + value + "\r\n"));
    auto interim = connection.read_response();
    ASSERT_TRUE(interim);
    ASSERT_EQ(interim->status, 100);
    connection.send_raw(body);
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200);
    auto lines = parse_lines(response->body);
    EXPECT_EQ(lines["length"], std::to_string(body.size()));
    EXPECT_EQ(lines["sha256"], sha256_hex(body));
}

}  // namespace
}  // namespace cgihost::testing
