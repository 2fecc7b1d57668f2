// What a script is started with, seen from inside the real script: the RFC 3875 §4
// meta-variables and the extras, argv for ISINDEX queries (§4.4), the working directory (§7.2),
// and the clean process state (descriptors, signals, process group). The pure environment
// builder has its table tests in tests/unit/test_cgi_environment.cpp.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <string>

#include "cgi_fixture.hpp"
#include "http_client.hpp"
#include "test_server.hpp"

namespace cgihost::testing {
namespace {

// Sets a variable in this process's environment, which TestServer hands to cgihost, for the
// scope of one test.
class ScopedEnvironmentVariable {
  public:
    ScopedEnvironmentVariable(const char* name, const char* value) : name_(name) {
        ::setenv(name, value, 1);
    }
    ~ScopedEnvironmentVariable() { ::unsetenv(name_); }
    ScopedEnvironmentVariable(const ScopedEnvironmentVariable&) = delete;
    ScopedEnvironmentVariable& operator=(const ScopedEnvironmentVariable&) = delete;

  private:
    const char* name_;
};

uint16_t local_port_of(int fd) {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(address.sin_port);
}

// ---- RFC 3875 §4.1 meta-variables ------------------------------------------------------------

class CgiEnvironment : public CgiTest {};

TEST_F(CgiEnvironment, SetsGatewayInterfaceToCgi11) {
    start();
    EXPECT_EQ(fetch_lines("/cgi-bin/t?env")["GATEWAY_INTERFACE"], "CGI/1.1");
}

TEST_F(CgiEnvironment, SetsServerSoftwareToTheServerHeader) {
    start();
    auto response = get("/cgi-bin/t?env");
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200);
    auto env = parse_lines(response->body);
    EXPECT_FALSE(env["SERVER_SOFTWARE"].empty());
    EXPECT_EQ(env["SERVER_SOFTWARE"], response->header("Server"));
}

TEST_F(CgiEnvironment, TakesServerNameFromTheHostHeaderInLowerCaseWithoutThePort) {
    start();
    auto env = fetch_lines("/cgi-bin/t?env", {{"Host", "EXAMPLE.com:8080"}});
    EXPECT_EQ(env["SERVER_NAME"], "example.com");
}

TEST_F(CgiEnvironment, KeepsTheBracketsOfAnIpv6HostInServerName) {
    start();
    auto env = fetch_lines("/cgi-bin/t?env", {{"Host", "[::1]:80"}});
    EXPECT_EQ(env["SERVER_NAME"], "[::1]");
}

TEST_F(CgiEnvironment, SetsServerPortToThePortTheConnectionArrivedOn) {
    start();
    auto env = fetch_lines("/cgi-bin/t?env", {{"Host", "example.com:8080"}});
    EXPECT_EQ(env["SERVER_PORT"], std::to_string(port()));
}

TEST_F(CgiEnvironment, SetsServerProtocolToTheVersionOfTheRequest) {
    start();
    EXPECT_EQ(fetch_lines("/cgi-bin/t?env")["SERVER_PROTOCOL"], "HTTP/1.1");
    auto raw = split_raw_response(exchange_raw("GET /cgi-bin/t?env HTTP/1.0\r\n\r\n"));
    EXPECT_EQ(parse_lines(raw.body)["SERVER_PROTOCOL"], "HTTP/1.0") << raw.head;
}

TEST_F(CgiEnvironment, SetsRequestMethodToTheMethodSent) {
    start();
    EXPECT_EQ(fetch_lines("/cgi-bin/t?env")["REQUEST_METHOD"], "GET");
    auto posted = http_request(port(), "POST", "/cgi-bin/t?env", {}, "x=1");
    ASSERT_TRUE(posted);
    EXPECT_EQ(parse_lines(posted->body)["REQUEST_METHOD"], "POST");
}

TEST_F(CgiEnvironment, PassesTheQueryStringStillEncoded) {
    start();
    EXPECT_EQ(fetch_lines("/cgi-bin/t?env&x=%41+b")["QUERY_STRING"], "env&x=%41+b");
}

TEST_F(CgiEnvironment, SetsScriptNameToTheDecodedPathOfTheScript) {
    start();
    EXPECT_EQ(fetch_lines("/cgi-bin/%74?env")["SCRIPT_NAME"], "/cgi-bin/t");
}

TEST_F(CgiEnvironment, SetsRemoteAddrAndRemoteHostToTheClientsAddress) {
    start();
    auto env = fetch_lines("/cgi-bin/t?env");
    EXPECT_EQ(env["REMOTE_ADDR"], "127.0.0.1");
    // RFC 3875 §4.1.9: the host name, or REMOTE_ADDR when it is not looked up.
    EXPECT_TRUE(env["REMOTE_HOST"] == "127.0.0.1" || env["REMOTE_HOST"] == "localhost")
        << env["REMOTE_HOST"];
}

TEST_F(CgiEnvironment, LeavesOutPathInfoAndPathTranslatedWithoutExtraPath) {
    start();
    auto env = fetch_lines("/cgi-bin/t?env");
    ASSERT_EQ(env["SCRIPT_NAME"], "/cgi-bin/t");
    EXPECT_EQ(env.count("PATH_INFO"), 0u);
    EXPECT_EQ(env.count("PATH_TRANSLATED"), 0u);
}

TEST_F(CgiEnvironment, LeavesOutContentLengthAndContentTypeForABodylessGet) {
    start();
    auto env = fetch_lines("/cgi-bin/t?env");
    ASSERT_EQ(env["REQUEST_METHOD"], "GET");
    EXPECT_EQ(env.count("CONTENT_LENGTH"), 0u);
    EXPECT_EQ(env.count("CONTENT_TYPE"), 0u);
}

TEST_F(CgiEnvironment, SetsContentLengthAndContentTypeForAPost) {
    start();
    auto response =
        http_request(port(), "POST", "/cgi-bin/t?env",
                     {{"Content-Type", "application/x-www-form-urlencoded"}}, "a=1&b=2");
    ASSERT_TRUE(response);
    auto env = parse_lines(response->body);
    EXPECT_EQ(env["CONTENT_LENGTH"], "7");
    EXPECT_EQ(env["CONTENT_TYPE"], "application/x-www-form-urlencoded");
    EXPECT_EQ(env.count("HTTP_CONTENT_LENGTH"), 0u);
    EXPECT_EQ(env.count("HTTP_CONTENT_TYPE"), 0u);
}

TEST_F(CgiEnvironment, SetsContentLengthOfAChunkedRequestToItsDechunkedSize) {
    start();
    HttpConnection connection(port());
    connection.send_raw(
        "POST /cgi-bin/t?env HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(parse_lines(response->body)["CONTENT_LENGTH"], "11");
}

TEST_F(CgiEnvironment, PassesRequestHeadersAsHttpVariables) {
    start();
    auto env = fetch_lines("/cgi-bin/t?env", {{"Host", "example.com"},
                                              {"X-Custom-Thing", "custom value"},
                                              {"User-Agent", "cgihost-test/1"}});
    EXPECT_EQ(env["HTTP_X_CUSTOM_THING"], "custom value");
    EXPECT_EQ(env["HTTP_USER_AGENT"], "cgihost-test/1");
    EXPECT_EQ(env["HTTP_HOST"], "example.com");
}

TEST_F(CgiEnvironment, JoinsARepeatedHeaderWithCommas) {
    start();
    auto env = fetch_lines("/cgi-bin/t?env", {{"X-Multi", "a"}, {"X-Multi", "b"}});
    EXPECT_EQ(env["HTTP_X_MULTI"], "a, b");
}

TEST_F(CgiEnvironment, JoinsRepeatedCookieHeadersWithSemicolons) {
    start();
    auto env = fetch_lines("/cgi-bin/t?env", {{"Cookie", "a=1"}, {"Cookie", "b=2"}});
    EXPECT_EQ(env["HTTP_COOKIE"], "a=1; b=2");
}

TEST_F(CgiEnvironment, NeverTurnsAProxyHeaderIntoHttpProxy) {
    start();
    auto env = fetch_lines("/cgi-bin/t?env",
                           {{"Proxy", "http://attacker.example:8080"}, {"X-Seen", "yes"}});
    ASSERT_EQ(env["HTTP_X_SEEN"], "yes");
    EXPECT_EQ(env.count("HTTP_PROXY"), 0u);
}

TEST_F(CgiEnvironment, DropsAHeaderWithAnUnderscoreInItsName) {
    start();
    auto env = fetch_lines("/cgi-bin/t?env", {{"X-Forwarded-For", "10.0.0.1"},
                                              {"X_Forwarded_For", "6.6.6.6"},
                                              {"X_Only_Underscores", "1"}});
    EXPECT_EQ(env["HTTP_X_FORWARDED_FOR"], "10.0.0.1");
    EXPECT_EQ(env.count("HTTP_X_ONLY_UNDERSCORES"), 0u);
}

TEST_F(CgiEnvironment, HidesTheAuthorizationHeaderByDefault) {
    start();
    auto env =
        fetch_lines("/cgi-bin/t?env", {{"Authorization", "Basic dXNlcjpwYXNz"}, {"X-Seen", "yes"}});
    ASSERT_EQ(env["HTTP_X_SEEN"], "yes");
    EXPECT_EQ(env.count("HTTP_AUTHORIZATION"), 0u);
}

TEST_F(CgiEnvironment, PassesTheAuthorizationHeaderWhenConfiguredTo) {
    start({"--cgi-pass-authorization", "true"});
    auto env = fetch_lines("/cgi-bin/t?env", {{"Authorization", "Basic dXNlcjpwYXNz"}});
    EXPECT_EQ(env["HTTP_AUTHORIZATION"], "Basic dXNlcjpwYXNz");
}

TEST_F(CgiEnvironment, SetsTheCommonExtrasScriptsExpect) {
    start();
    HttpConnection connection(port());
    auto response = connection.request("GET", "/cgi-bin/t/extra?env");
    ASSERT_TRUE(response);
    auto env = parse_lines(response->body);
    EXPECT_EQ(env["REQUEST_URI"], "/cgi-bin/t/extra?env");
    EXPECT_EQ(env["SCRIPT_FILENAME"], (cgi_dir() / "t").string());
    EXPECT_EQ(env["DOCUMENT_ROOT"], docroot().string());
    EXPECT_EQ(env["REMOTE_PORT"], std::to_string(local_port_of(connection.fd())));
    EXPECT_EQ(env["SERVER_ADDR"], "127.0.0.1");
    EXPECT_EQ(env["REQUEST_SCHEME"], "http");
    EXPECT_EQ(env["REDIRECT_STATUS"], "200");
}

TEST_F(CgiEnvironment, KeepsTheServersOwnEnvironmentFromTheScript) {
    ScopedEnvironmentVariable secret("CGIHOST_SECRET", "1");
    start();
    auto env = fetch_lines("/cgi-bin/t?env");
    ASSERT_EQ(env["GATEWAY_INTERFACE"], "CGI/1.1");
    EXPECT_EQ(env.count("CGIHOST_SECRET"), 0u);
    EXPECT_EQ(env.count("CGIHOST_BIN"), 0u);  // set by meson for the server
}

TEST_F(CgiEnvironment, PassesAVariableOfTheServersEnvironmentWhenNamed) {
    ScopedEnvironmentVariable secret("CGIHOST_SECRET", "1");
    start({"--cgi-env-pass", "CGIHOST_SECRET"});
    EXPECT_EQ(fetch_lines("/cgi-bin/t?env")["CGIHOST_SECRET"], "1");
}

TEST_F(CgiEnvironment, AddsAVariableSetInTheConfiguration) {
    start({"--cgi-env-set", "FOO=bar"});
    EXPECT_EQ(fetch_lines("/cgi-bin/t?env")["FOO"], "bar");
}

TEST_F(CgiEnvironment, GivesScriptsTheDefaultPath) {
    start();
    EXPECT_EQ(fetch_lines("/cgi-bin/t?env")["PATH"], "/usr/local/bin:/usr/bin:/bin");
}

// ---- The command line and working directory (RFC 3875 §4.4, §7.2) ----------------------------

TEST_F(CgiEnvironment, PassesTheWordsOfAnIsindexQueryAsArguments) {
    start();
    auto env = fetch_lines("/cgi-bin/t?hello+world");
    EXPECT_EQ(env["argv[1]"], "hello");
    EXPECT_EQ(env["argv[2]"], "world");
    EXPECT_EQ(env.count("argv[3]"), 0u);
}

TEST_F(CgiEnvironment, PassesNoArgumentsForAQueryWithAnEqualsSign) {
    start();
    auto env = fetch_lines("/cgi-bin/t?env&a=b");
    ASSERT_EQ(env.count("argv[0]"), 1u);
    EXPECT_EQ(env.count("argv[1]"), 0u);
}

TEST_F(CgiEnvironment, RunsTheScriptInItsOwnDirectory) {
    start();
    EXPECT_EQ(fetch_lines("/cgi-bin/t?env")["cwd"], cgi_dir().string());
    EXPECT_EQ(fetch_lines("/cgi-bin/sub/t2?env")["cwd"], (cgi_dir() / "sub").string());
}

// ---- A clean process ---------------------------------------------------------------------------

class CgiProcessState : public CgiTest {
  protected:
    void SetUp() override { start(); }
};

TEST_F(CgiProcessState, GivesTheScriptOnlyStdinStdoutAndStderr) {
    auto response = get("/cgi-bin/t?fds");
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200);
    std::set<int> fds;
    std::string_view body = response->body;
    while (!body.empty()) {
        std::string_view line = body.substr(0, body.find('\n'));
        body.remove_prefix(std::min(body.size(), line.size() + 1));
        if (line.starts_with("fd=")) fds.insert(std::atoi(std::string(line.substr(3)).c_str()));
    }
    EXPECT_EQ(fds, (std::set<int>{0, 1, 2})) << response->body;
}

TEST_F(CgiProcessState, StartsTheScriptWithNoSignalBlockedAndSigpipeAtItsDefault) {
    auto lines = fetch_lines("/cgi-bin/t?signals");
    EXPECT_EQ(lines["blocked"], "0000000000000000");
    EXPECT_EQ(lines["sigpipe"], "default");
}

TEST_F(CgiProcessState, StartsTheScriptInAProcessGroupOfItsOwn) {
    auto lines = fetch_lines("/cgi-bin/t?pgid");
    ASSERT_FALSE(lines["pid"].empty());
    EXPECT_EQ(lines["pgid"], lines["pid"]);
    EXPECT_NE(lines["pgid"], std::to_string(::getpgid(server_->pid())));
}

}  // namespace
}  // namespace cgihost::testing
