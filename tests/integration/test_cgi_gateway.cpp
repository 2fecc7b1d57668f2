// The CGI gateway end to end (RFC 3875), against the real binary and the scriptable test CGI:
// which URLs run which scripts (§3), and how a script's output becomes the client's response
// (§5, §6). The environment is in test_cgi_environment_live.cpp; request bodies, stderr,
// limits, departed clients and reaping in test_cgi_faults.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>

#include "cgi_fixture.hpp"
#include "http_client.hpp"
#include "test_server.hpp"

namespace cgihost::testing {
namespace {

constexpr std::string_view kElfMagic =
    "\x7f"
    "ELF";

// A script for /bin/sh: readable, deliberately not executable.
constexpr std::string_view kShellScript =
    "printf 'Content-Type: text/plain\\n\\nshell says %s %s\\n' \"$REQUEST_METHOD\" "
    "\"$SCRIPT_NAME\"\n";

// ---- Which URL runs which script (RFC 3875 §3) -----------------------------------------------

class CgiMapping : public CgiTest {};

TEST_F(CgiMapping, SplitsTheUrlIntoTheScriptAndItsPathInfo) {
    start();
    auto env = fetch_lines("/cgi-bin/t/a/b?env");
    EXPECT_EQ(env["SCRIPT_NAME"], "/cgi-bin/t");
    EXPECT_EQ(env["PATH_INFO"], "/a/b");
    EXPECT_EQ(env["PATH_TRANSLATED"], (docroot() / "a/b").string());
}

TEST_F(CgiMapping, RunsAScriptInASubdirectoryOfTheCgiDirectory) {
    start();
    auto env = fetch_lines("/cgi-bin/sub/t2?env");
    EXPECT_EQ(env["SCRIPT_NAME"], "/cgi-bin/sub/t2");
    EXPECT_EQ(env["SCRIPT_FILENAME"], (cgi_dir() / "sub/t2").string());
    EXPECT_EQ(env.count("PATH_INFO"), 0u);
}

TEST_F(CgiMapping, AnswersAMissingScriptWith404) {
    start();
    for (const char* target : {"/cgi-bin/missing?env", "/cgi-bin/sub/missing/x"}) {
        auto response = get(target);
        ASSERT_TRUE(response) << target;
        EXPECT_EQ(response->status, 404) << target;
    }
}

TEST_F(CgiMapping, RefusesADirectoryInTheCgiDirectoryWith403) {
    start();
    for (const char* target : {"/cgi-bin/sub", "/cgi-bin/sub/"}) {
        auto response = get(target);
        ASSERT_TRUE(response) << target;
        EXPECT_EQ(response->status, 403) << target;
    }
}

TEST_F(CgiMapping, RefusesAScriptWithoutExecutePermissionWith403) {
    site_.write_file("cgi-bin/not-executable", "#!/bin/sh\necho secret-source\n", 0644);
    start();
    auto response = get("/cgi-bin/not-executable");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 403);
    EXPECT_EQ(response->body.find("secret-source"), std::string::npos);
}

TEST_F(CgiMapping, RefusesTheCgiPrefixItselfWith403) {
    start();
    for (const char* target : {"/cgi-bin", "/cgi-bin/"}) {
        auto response = get(target);
        ASSERT_TRUE(response) << target;
        EXPECT_EQ(response->status, 403) << target;
    }
}

// The scripts also lie inside the docroot here (www/scripts is the CGI directory), the layout
// where a static lookup could hand out a program's bytes.
TEST_F(CgiMapping, NeverServesTheBytesOfAScript) {
    install_test_cgi("www/scripts/t");
    ASSERT_EQ(read_file(site_ / "www/scripts/t").substr(0, 4), kElfMagic);
    server_ = std::make_unique<TestServer>(
        std::vector<std::string>{"--docroot", docroot().string(), "--cgi-dir",
                                 (docroot() / "scripts").string(), "--cgi-url", "/cgi-bin/"});
    const char* targets[] = {
        "/cgi-bin/t",      "/cgi-bin%2ft",  "/cgi-bin%2Ft",    "/cgi-bin/t%2f",  "/cgi-bin/t%2e",
        "/cgi-bin/t.",     "/cgi-bin/t%20", "/cgi-bin//t",     "//cgi-bin/t",    "/cgi-bin/./t",
        "/x/../cgi-bin/t", "/cgi-bin/t/",   "/cgi-bin/%74",    "/CGI-BIN/t",     "/scripts/t",
        "/scripts//t",     "/scripts/./t",  "/x/../scripts/t", "/scripts/t.",    "/scripts/t%20",
        "/scripts%2ft",    "/scripts/t%2f", "/%73cripts/t",    "/scripts/t?x=1", "/scripts/%74",
        "/scripts/t/",     "/scripts/t%00", "/./scripts/t",
    };
    for (const char* target : targets) {
        for (const char* method : {"GET", "HEAD"}) {
            // Raw, so that even a response the client could not parse is searched.
            std::string received = exchange_raw(std::string(method) + " " + target +
                                                " HTTP/1.1\r\nHost: x\r\nRange: bytes=0-\r\n"
                                                "Connection: close\r\n\r\n");
            EXPECT_EQ(received.find(kElfMagic), std::string::npos) << method << " " << target;
            EXPECT_EQ(received.find(" 206 "), std::string::npos) << method << " " << target;
        }
    }
}

TEST_F(CgiMapping, AnswersAScriptWithAMissingInterpreterWith502AndLogsIt) {
    site_.write_file("cgi-bin/bad-interpreter", "#!/nonexistent/interp\necho hi\n", 0755);
    start();
    auto response = get("/cgi-bin/bad-interpreter");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 502);
    EXPECT_TRUE(error_log_contains("bad-interpreter")) << server_->error_log();
}

TEST_F(CgiMapping, RunsScriptsAnywhereInTheDocrootThroughAnInterpreterHandler) {
    site_.write_file("www/x.sh", std::string(kShellScript));
    site_.write_file("www/deep/er/x.sh", std::string(kShellScript));
    start({"--cgi-handlers", ".sh=/bin/sh"});
    auto top = get("/x.sh?q=1");
    ASSERT_TRUE(top);
    EXPECT_EQ(top->status, 200);
    EXPECT_EQ(top->body, "shell says GET /x.sh\n");
    auto deep = get("/deep/er/x.sh");
    ASSERT_TRUE(deep);
    EXPECT_EQ(deep->status, 200);
    EXPECT_EQ(deep->body, "shell says GET /deep/er/x.sh\n");
}

// A PHP front controller's "/index.php/route": Apache and lighttpd run index.php with the rest
// as PATH_INFO, and so must we, for an executable and an interpreted handler script alike.
TEST_F(CgiMapping, GivesAHandlerScriptInTheDocrootThePathAfterItAsPathInfo) {
    install_test_cgi("www/app/index.cgi");
    site_.write_file("www/app/route.sh",
                     "printf 'Content-Type: text/plain\\n\\n%s|%s\\n' \"$SCRIPT_NAME\" "
                     "\"$PATH_INFO\"\n");
    site_.write_file("www/page.txt", "a page\n");
    start({"--cgi-handlers", ".cgi=", ".sh=/bin/sh"});
    auto env = fetch_lines("/app/index.cgi/extra/path?env");
    EXPECT_EQ(env["SCRIPT_NAME"], "/app/index.cgi");
    EXPECT_EQ(env["SCRIPT_FILENAME"], (docroot() / "app/index.cgi").string());
    EXPECT_EQ(env["PATH_INFO"], "/extra/path");
    EXPECT_EQ(env["PATH_TRANSLATED"], (docroot() / "extra/path").string());
    EXPECT_EQ(env["QUERY_STRING"], "env");

    auto interpreted = get("/app/route.sh/users/42%20x/");
    ASSERT_TRUE(interpreted);
    EXPECT_EQ(interpreted->status, 200);
    EXPECT_EQ(interpreted->body, "/app/route.sh|/users/42 x/\n");

    // More path after a static file is still missing, as in Apache.
    auto page = get("/page.txt/extra");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 404);
}

// git's documentation deploys its CGI program as `ln -s /usr/lib/git-core/git-http-backend
// cgi-bin/git`: the CGI directory is the administrator's, so links there may leave it.
TEST_F(CgiMapping, RunsASymlinkInTheCgiDirectoryToAnExecutableElsewhere) {
    install_test_cgi("tools/real-program");
    std::filesystem::create_symlink("../tools/real-program", site_ / "cgi-bin/linked");
    start();
    auto env = fetch_lines("/cgi-bin/linked/info/refs?env");
    EXPECT_EQ(env["SCRIPT_NAME"], "/cgi-bin/linked");
    EXPECT_EQ(env["PATH_INFO"], "/info/refs");
    EXPECT_EQ(env["GATEWAY_INTERFACE"], "CGI/1.1");
}

TEST_F(CgiMapping, RefusesASymlinkLeavingTheCgiDirectoryWhenToldTo) {
    install_test_cgi("tools/real-program");
    std::filesystem::create_symlink("../tools/real-program", site_ / "cgi-bin/linked");
    start({"--cgi-follow-symlinks", "false"});
    auto response = get("/cgi-bin/linked?env");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 403);
}

// Apache's UseCanonicalName On: a Host that is not ours must not steer the absolute URLs that
// scripts build from SERVER_NAME (a redirect, a link in a mail).
TEST_F(CgiMapping, GivesScriptsTheCanonicalServerNameForHostsThatAreNotOurs) {
    start({"--server-name", "example.org", "--server-aliases", "*.example.org"});
    EXPECT_EQ(fetch_lines("/cgi-bin/t?env", {{"Host", "evil.example"}})["SERVER_NAME"],
              "example.org");
    EXPECT_EQ(fetch_lines("/cgi-bin/t?env", {{"Host", "127.0.0.1:1"}})["SERVER_NAME"],
              "example.org");
    EXPECT_EQ(fetch_lines("/cgi-bin/t?env", {{"Host", "Shop.Example.org"}})["SERVER_NAME"],
              "shop.example.org");
    // Without --server-name the Host is believed, as before.
    start();
    EXPECT_EQ(fetch_lines("/cgi-bin/t?env", {{"Host", "evil.example"}})["SERVER_NAME"],
              "evil.example");
}

TEST_F(CgiMapping, ServesAShellScriptAsPlainFileWithoutAHandler) {
    site_.write_file("www/x.sh", std::string(kShellScript));
    start();
    auto response = get("/x.sh");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, kShellScript);
}

TEST_F(CgiMapping, RunsAnExecutableItselfThroughAnEmptyHandler) {
    install_test_cgi("www/y.cgi");
    start({"--cgi-handlers", ".cgi="});
    auto env = fetch_lines("/y.cgi?env");
    EXPECT_EQ(env["SCRIPT_NAME"], "/y.cgi");
    EXPECT_EQ(env["SCRIPT_FILENAME"], (docroot() / "y.cgi").string());
    EXPECT_EQ(env["GATEWAY_INTERFACE"], "CGI/1.1");
}

// ---- From the script's output to the client's response (RFC 3875 §6) -------------------------

class CgiResponse : public CgiTest {
  protected:
    void SetUp() override { start(); }

    // Restarts the server with every idle timeout beyond the hang guard, so that a connection
    // closed within it was closed by the behaviour under test and not by a timeout.
    void start_without_idle_timeouts() {
        start({"--keep-alive-timeout", "600", "--read-timeout", "600", "--write-timeout", "600"});
    }
};

TEST_F(CgiResponse, UsesTheStatusAndReasonTheScriptGave) {
    auto response = get("/cgi-bin/t?status=404+Nope&body=gone");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 404);
    EXPECT_EQ(response->reason, "Nope");
    EXPECT_EQ(response->body, "gone");
}

TEST_F(CgiResponse, AnswersAStatusThatIsNotThreeDigitsWith502) {
    for (const char* status : {"99", "600", "abc", "20", "2000"}) {
        auto response = get(std::string("/cgi-bin/t?status=") + status + "&body=x");
        ASSERT_TRUE(response) << status;
        EXPECT_EQ(response->status, 502) << status;
    }
}

TEST_F(CgiResponse, AnswersOutputWithNeitherContentTypeNorStatusNorLocationWith502) {
    auto response = get("/cgi-bin/t?no-content-type&body=x");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 502);
}

TEST_F(CgiResponse, AnswersAHeaderLineWithoutAColonWith502) {
    auto response =
        get("/cgi-bin/t?raw=" + encode_query("Content-Type: text/plain\nbogus line\n\nbody"));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 502);
}

TEST_F(CgiResponse, AnswersOutputThatEndsInsideTheHeaderBlockWith502) {
    auto response = get("/cgi-bin/t?raw=" + encode_query("Content-Type: text/plain\n"));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 502);
}

TEST_F(CgiResponse, AcceptsHeaderLinesEndingInLfOrInCrLf) {
    for (const char* line_ending : {"", "crlf&"}) {
        auto response = get(std::string("/cgi-bin/t?") + line_ending + "header=X-Line:+ok&body=hi");
        ASSERT_TRUE(response) << line_ending;
        EXPECT_EQ(response->status, 200) << line_ending;
        EXPECT_EQ(response->header("X-Line"), "ok") << line_ending;
        EXPECT_EQ(response->header("Content-Type"), "text/plain") << line_ending;
        EXPECT_EQ(response->body, "hi") << line_ending;
    }
}

TEST_F(CgiResponse, TurnsAnAbsoluteLocationIntoA302) {
    auto response = get("/cgi-bin/t?location=" + encode_query("http://example.com/there?x=1"));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 302);
    EXPECT_EQ(response->header("Location"), "http://example.com/there?x=1");
}

TEST_F(CgiResponse, KeepsTheStatusAndBodyOfARedirectThatCarriesADocument) {
    auto response = get("/cgi-bin/t?location=" + encode_query("http://example.com/moved") +
                        "&status=301+Moved&content-type=text/html&body=" +
                        encode_query("<a href=\"http://example.com/moved\">moved</a>"));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 301);
    EXPECT_EQ(response->header("Location"), "http://example.com/moved");
    EXPECT_EQ(response->header("Content-Type"), "text/html");
    EXPECT_EQ(response->body, "<a href=\"http://example.com/moved\">moved</a>");
}

TEST_F(CgiResponse, FollowsALocalRedirectToAStaticFile) {
    auto response = get("/cgi-bin/t?location=%2Findex.html");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, kIndexHtml);
    EXPECT_FALSE(response->has_header("Location"));
}

TEST_F(CgiResponse, FollowsALocalRedirectToAnotherScriptAsAGet) {
    auto response = http_request(
        port(), "POST", "/cgi-bin/t?location=" + encode_query("/cgi-bin/sub/t2?env&from=redirect"),
        {{"Content-Type", "text/plain"}}, "a posted body");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    auto env = parse_lines(response->body);
    EXPECT_EQ(env["REQUEST_METHOD"], "GET");
    EXPECT_EQ(env["QUERY_STRING"], "env&from=redirect");
    EXPECT_EQ(env["SCRIPT_NAME"], "/cgi-bin/sub/t2");
    EXPECT_EQ(env.count("CONTENT_LENGTH"), 0u);
}

TEST_F(CgiResponse, EndsALocalRedirectLoopWith500AfterAtMostTenHops) {
    auto runs = site_ / "loop-runs";
    site_.write_file(
        "cgi-bin/loop",
        "#!/bin/sh\necho run >> '" + runs.string() + "'\nprintf 'Location: /cgi-bin/loop\\n\\n'\n",
        0755);
    auto response = get("/cgi-bin/loop");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 500);
    std::string log = read_file(runs);
    auto count = std::count(log.begin(), log.end(), '\n');
    EXPECT_GE(count, 2);   // it did follow the redirect
    EXPECT_LE(count, 11);  // the first run and at most ten redirects
}

// RFC 3875 §6.2.2: a local redirect has no body. The second case writes the body only after a
// pause, so the server cannot see it in the same read as the header block.
TEST_F(CgiResponse, AnswersALocalRedirectWithABodyWith502) {
    for (std::string query : {"raw=" + encode_query("Location: /index.html\n\noops"),
                              std::string("location=%2Findex.html&body=&sleep=0.3&body=oops")}) {
        auto response = get("/cgi-bin/t?" + query);
        ASSERT_TRUE(response) << query;
        EXPECT_EQ(response->status, 502) << query;
        EXPECT_EQ(response->body.find(kIndexHtml), std::string::npos) << query;
    }
}

TEST_F(CgiResponse, KeepsEverySetCookieHeaderSeparate) {
    auto response = get("/cgi-bin/t?header=Set-Cookie:+a=1&header=Set-Cookie:+b=2&body=x");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    ASSERT_EQ(response->header_count("Set-Cookie"), 2u);
    std::vector<std::string> cookies;
    for (const auto& [name, value] : response->headers) {
        if (name == "Set-Cookie") cookies.push_back(value);
    }
    EXPECT_EQ(cookies, (std::vector<std::string>{"a=1", "b=2"}));
}

TEST_F(CgiResponse, DropsTheConnectionHeadersTheScriptSent) {
    HttpConnection connection(port());
    auto response =
        connection.request("GET",
                           "/cgi-bin/t?header=Connection:+close&header=Keep-Alive:+timeout=99"
                           "&header=Transfer-Encoding:+gzip&body=hello");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "hello");
    EXPECT_FALSE(response->has_header("Keep-Alive"));
    EXPECT_EQ(response->header_count("Transfer-Encoding"), response->chunked ? 1u : 0u);
    EXPECT_NE(response->header("Transfer-Encoding"), "gzip");
    EXPECT_NE(response->header("Connection"), "close");
    // The connection is still the server's to keep.
    auto next = connection.request("GET", "/index.html");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->body, kIndexHtml);
}

TEST_F(CgiResponse, SendsTheScriptsOwnContentLengthInsteadOfChunking) {
    auto response = get("/cgi-bin/t?header=Content-Length:+5&body=hello");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->header("Content-Length"), "5");
    EXPECT_FALSE(response->chunked);
    EXPECT_EQ(response->body, "hello");
}

TEST_F(CgiResponse, ClosesTheConnectionWhenTheBodyFallsShortOfItsContentLength) {
    start_without_idle_timeouts();
    bool closed = false;
    auto raw = split_raw_response(exchange_raw(
        "GET /cgi-bin/t?header=Content-Length:+100&body=hello HTTP/1.1\r\nHost: x\r\n\r\n",
        kHangGuard, &closed));
    EXPECT_TRUE(closed) << "the connection was left open";
    EXPECT_NE(raw.head.find("Content-Length: 100\r\n"), std::string::npos) << raw.head;
    EXPECT_EQ(raw.body, "hello");
}

// The cut must come after what the script did write: here most of it still waits in the
// server's buffers for a client that paused, when the script ends.
TEST_F(CgiResponse, ClosesAShortResponseOnlyAfterSendingAllTheScriptWrote) {
    constexpr uint64_t kWritten = uint64_t{16} << 20;
    for (int attempt = 0; attempt < 2; ++attempt) {
        HttpConnection connection(port());
        connection.send_raw("GET /cgi-bin/t?header=Content-Length:+" +
                            std::to_string(kWritten + 100) + "&bytes=" + std::to_string(kWritten) +
                            " HTTP/1.1\r\nHost: x\r\n\r\n");
        std::this_thread::sleep_for(500ms);
        auto raw = split_raw_response(connection.read_until_close());
        ASSERT_EQ(raw.head.rfind("HTTP/1.1 200", 0), 0u) << raw.head;
        EXPECT_EQ(raw.body.size(), kWritten) << "attempt " << attempt;
        EXPECT_EQ(first_pattern_mismatch(raw.body), raw.body.size());
    }
}

TEST_F(CgiResponse, TruncatesABodyLongerThanItsContentLength) {
    HttpConnection connection(port());
    auto response = connection.request("GET", "/cgi-bin/t?header=Content-Length:+3&body=hello");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "hel");
    if (!response->closed) {
        // Were "lo" sent anyway, it would be read as the start of this response.
        auto next = connection.request("GET", "/index.html");
        ASSERT_TRUE(next);
        EXPECT_EQ(next->status, 200);
        EXPECT_EQ(next->body, kIndexHtml);
    }
}

TEST_F(CgiResponse, ChunksAnHttp11BodyOfUnknownLength) {
    auto response = get("/cgi-bin/t?body=hello");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(response->chunked);
    EXPECT_FALSE(response->has_header("Content-Length"));
    EXPECT_EQ(response->body, "hello");
}

TEST_F(CgiResponse, SendsAnHttp10BodyUntilTheConnectionCloses) {
    auto raw = split_raw_response(exchange_raw("GET /cgi-bin/t?body=hello HTTP/1.0\r\n\r\n"));
    EXPECT_EQ(raw.head.rfind("HTTP/1.", 0), 0u) << raw.head;
    EXPECT_NE(raw.head.find(" 200 "), std::string::npos) << raw.head;
    EXPECT_EQ(raw.head.find("Transfer-Encoding"), std::string::npos) << raw.head;
    EXPECT_EQ(raw.body, "hello");
}

TEST_F(CgiResponse, AnswersHeadWithTheStatusAndHeadersOfGetButNoBody) {
    const std::string target = "/cgi-bin/t?status=201+Made&header=X-A:+1&body=hello";
    HttpConnection connection(port());
    auto with_get = connection.request("GET", target);
    auto with_head = connection.request("HEAD", target);
    ASSERT_TRUE(with_get);
    ASSERT_TRUE(with_head);
    EXPECT_EQ(with_head->status, 201);
    EXPECT_EQ(with_head->status, with_get->status);
    EXPECT_EQ(with_head->header("X-A"), "1");
    EXPECT_EQ(with_head->header("Content-Type"), with_get->header("Content-Type"));
    // A body after the HEAD response would be read as the start of the next one.
    auto next = connection.request("GET", "/index.html");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 200);
    EXPECT_EQ(next->body, kIndexHtml);
}

TEST_F(CgiResponse, Sends204WithoutABody) {
    HttpConnection connection(port());
    auto response = connection.request("GET", "/cgi-bin/t?status=204&body=not-for-the-client");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 204);
    auto next = connection.request("GET", "/index.html");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 200);
    EXPECT_EQ(next->body, kIndexHtml);
}

TEST_F(CgiResponse, Sends304WithoutABody) {
    HttpConnection connection(port());
    auto response = connection.request("GET", "/cgi-bin/t?status=304&body=not-for-the-client");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 304);
    auto next = connection.request("GET", "/index.html");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 200);
    EXPECT_EQ(next->body, kIndexHtml);
}

// Every way a script's header line could smuggle a second header past a client (response
// splitting): a bare CR, CR CR LF, a folded continuation line, NUL and other controls, in a
// plain header, the Status reason, Content-Type, and a Location echoed from user input. The
// parser refuses each (502), and the forged header appears nowhere in the head.
TEST_F(CgiResponse, NeverLetsAnInjectedLineBreakForgeAHeader) {
    const std::string forged = "Set-Cookie:+evil=1";
    for (const std::string& query :
         {"header=X-A:+b%0D" + forged, "header=X-A:+b%0D%0D%0A" + forged,
          "header=X-A:+b%0A+" + forged, "header=X-A:+b%0D%0A%09" + forged,
          "header=X-A:+b%00" + forged, "header=X-A:+b%0B" + forged, "status=200+OK%0D" + forged,
          "content-type=text/plain%0D" + forged, "location=http://example.org/%0D" + forged,
          "status=302+Found&location=/next%0D" + forged}) {
        SCOPED_TRACE(query);
        auto raw = split_raw_response(exchange_raw("GET /cgi-bin/t?" + query +
                                                   "&body=x HTTP/1.1\r\nHost: x\r\n"
                                                   "Connection: close\r\n\r\n"));
        ASSERT_EQ(raw.head.rfind("HTTP/1.1 ", 0), 0u) << raw.head;
        EXPECT_EQ(raw.head.rfind("HTTP/1.1 502", 0), 0u) << raw.head;
        std::string lowered = raw.head;
        std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        EXPECT_EQ(lowered.find("set-cookie"), std::string::npos) << raw.head;
    }
}

TEST_F(CgiResponse, StreamsLargeBodiesByteForByte) {
    for (uint64_t size : {uint64_t{1} << 20, uint64_t{50} << 20}) {
        auto response = get("/cgi-bin/t?bytes=" + std::to_string(size));
        ASSERT_TRUE(response) << size;
        EXPECT_EQ(response->status, 200);
        ASSERT_EQ(response->body.size(), size);
        EXPECT_EQ(first_pattern_mismatch(response->body), size);
    }
}

// RFC 3875 §5: an nph- script writes the whole HTTP response; the server relays it untouched.
TEST_F(CgiResponse, RelaysTheOutputOfAnNphScriptUntouched) {
    start_without_idle_timeouts();
    const std::string expected = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello";
    bool closed = false;
    std::string received =
        exchange_raw("GET /cgi-bin/nph-t?no-headers&raw=" + encode_query(expected) +
                         " HTTP/1.1\r\nHost: x\r\n\r\n",
                     kHangGuard, &closed);
    EXPECT_EQ(received, expected);
    EXPECT_TRUE(closed) << "the connection was left open";
}

// ---- X-Sendfile: the script names a file and the server sends it -----------------------------

class CgiXSendfile : public CgiTest {
  protected:
    CgiXSendfile() {
        for (int i = 0; i < 1000; ++i)
            content_ += static_cast<char>('a' + i % 26);
        site_.write_file("files/file.bin", content_);
        site_.write_file("secret.txt", "top secret\n");
    }

    std::filesystem::path files() const { return std::filesystem::canonical(site_ / "files"); }

    static std::string sendfile_target(const std::string& path) {
        return "/cgi-bin/t?header=X-Sendfile:+" + encode_query(path) +
               "&content-type=application%2Foctet-stream"
               "&header=Content-Disposition:+attachment&body=the-scripts-own-body";
    }

    std::string content_;
};

TEST_F(CgiXSendfile, SendsTheNamedFileWithTheScriptsHeaders) {
    start({"--cgi-x-sendfile-root", files().string()});
    auto response = get(sendfile_target((files() / "file.bin").string()));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, content_);
    EXPECT_EQ(response->header("Content-Type"), "application/octet-stream");
    EXPECT_EQ(response->header("Content-Disposition"), "attachment");
    EXPECT_FALSE(response->has_header("X-Sendfile"));
}

TEST_F(CgiXSendfile, AnswersARangeOfTheNamedFileWith206) {
    start({"--cgi-x-sendfile-root", files().string()});
    auto response =
        get(sendfile_target((files() / "file.bin").string()), {{"Range", "bytes=10-19"}});
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 206);
    EXPECT_EQ(response->body, content_.substr(10, 10));
    EXPECT_EQ(response->header("Content-Range"), "bytes 10-19/1000");
}

TEST_F(CgiXSendfile, RefusesAFileOutsideTheRoot) {
    start({"--cgi-x-sendfile-root", files().string()});
    for (const std::string& path :
         {(site_ / "secret.txt").string(), (files() / "../secret.txt").string(),
          std::string("/etc/passwd")}) {
        auto response = get(sendfile_target(path));
        ASSERT_TRUE(response) << path;
        EXPECT_TRUE(response->status == 403 || response->status == 502)
            << path << " gave " << response->status;
        EXPECT_EQ(response->body.find("top secret"), std::string::npos) << path;
    }
}

TEST_F(CgiXSendfile, AnswersWith502WhenItIsNotEnabled) {
    start();
    auto response = get(sendfile_target((files() / "file.bin").string()));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 502);
    EXPECT_EQ(response->body.find(content_), std::string::npos);
}

}  // namespace
}  // namespace cgihost::testing
