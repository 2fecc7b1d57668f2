// --allow PREFIX=CIDR[,CIDR…] against the real binary: only the listed client addresses may
// use a prefix, others get 403, for static files and scripts alike, before authentication.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth_fixture.hpp"

namespace cgihost::testing {
namespace {

bool has_ipv6_loopback() {
    int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_addr = in6addr_loopback;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
}

class AccessRules : public AuthTest {};

TEST_F(AccessRules, RefusesAClientOutsideTheAllowedRangesWith403) {
    start({"--allow", "/private=10.0.0.0/8"});
    auto refused = get("/private/secret.html");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403);
    EXPECT_EQ(refused->body.find("top secret"), std::string::npos);
    auto elsewhere = get("/privateer/open.html");
    ASSERT_TRUE(elsewhere);
    EXPECT_EQ(elsewhere->status, 200);
}

TEST_F(AccessRules, LetsAClientInsideAnAllowedRangeThrough) {
    start({"--allow", "/private=10.0.0.0/8,127.0.0.0/8"});
    auto response = get("/private/secret.html");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
}

TEST_F(AccessRules, TheLongestPrefixWins) {
    start({"--allow", "/=10.0.0.0/8", "--allow", "/public/=127.0.0.1"});
    auto page = get("/public/page.html");
    auto other = get("/private/secret.html");
    ASSERT_TRUE(page && other);
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(other->status, 403);
}

TEST_F(AccessRules, CannotBeDodgedByDotSegmentsOrEscapes) {
    start({"--allow", "/private=10.0.0.0/8"});
    for (const char* target :
         {"/public/../private/secret.html", "/%70rivate/secret.html", "/private//secret.html"}) {
        auto response = get(target);
        ASSERT_TRUE(response) << target;
        EXPECT_EQ(response->status, 403) << target;
    }
}

TEST_F(AccessRules, AppliesToScriptsBeforeTheyRun) {
    const std::string marker = site_.file("ran");
    start({"--allow", "/cgi-bin/t=10.0.0.0/8"});
    auto response = get("/cgi-bin/t/x?touch=" + marker);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 403);
    EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST_F(AccessRules, AreCheckedBeforeAuthentication) {
    add_bcrypt_user("users.htpasswd", "alice", "wonderland");
    start({"--allow", "/private=10.0.0.0/8", "--basic-auth",
           "/private=" + site_.file("users.htpasswd")});
    auto response = get("/private/secret.html", {basic_auth("alice", "wonderland")});
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 403);
    EXPECT_FALSE(response->has_header("WWW-Authenticate"));
}

TEST_F(AccessRules, AMalformedRangeStopsStartupWithStatus2) {
    for (const char* rule : {"/x=10.0.0.0/33", "/x=", "/x=localhost", "x=10.0.0.0/8", "/x"}) {
        auto result = run_cgihost({"--docroot", docroot().string(), "--allow", rule});
        EXPECT_EQ(result.exit_status, 2) << rule;
        EXPECT_NE(result.err.find("--allow"), std::string::npos) << result.err;
    }
}

TEST_F(AccessRules, MatchIpv6ClientsOnIpv6Loopback) {
    if (!has_ipv6_loopback()) GTEST_SKIP() << "the kernel has no IPv6 loopback";
    server_ = std::make_unique<TestServer>(
        std::vector<std::string>{"--docroot", docroot().string(), "--cgi-dir", cgi_dir().string(),
                                 "--listen", "[::1]:0", "--allow", "/private=::1", "--allow",
                                 "/public=127.0.0.1"},
        false);
    HttpConnection allowed(port(), "::1");
    auto secret = allowed.request("GET", "/private/secret.html", {{"Host", "[::1]"}});
    ASSERT_TRUE(secret);
    EXPECT_EQ(secret->status, 200);
    HttpConnection refused(port(), "::1");
    auto page = refused.request("GET", "/public/page.html", {{"Host", "[::1]"}});
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 403);
}

TEST_F(AccessRules, AnswersExpectContinueFromADeniedClientWith403InsteadOf100) {
    start({"--allow", "/private=10.0.0.0/8", "--max-body-size", "128MiB"});
    HttpConnection connection(port());
    connection.send_raw(
        "POST /private/upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
        "Content-Length: 104857600\r\n\r\n");
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 403) << "a 100 Continue came first?";
    EXPECT_TRUE(connection.wait_closed());
}

}  // namespace
}  // namespace cgihost::testing
