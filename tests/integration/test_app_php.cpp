// PHP runs unchanged: Debian's php-cgi, given `.php` files through --cgi-handlers, with the
// fixture application of tests/apps/php (a front controller routing on PATH_INFO, forms, a
// 5 MiB upload hashed by PHP, a session, cookies, redirects, http_response_code).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "app_fixture.hpp"
#include "sha256.hpp"

namespace cgihost::testing {
namespace {

constexpr const char* kPhpCgi = "/usr/bin/php-cgi";

class PhpApp : public CgiTest {
  protected:
    void SetUp() override {
        if (!is_executable(kPhpCgi)) GTEST_SKIP() << "needs php-cgi (Debian package php-cgi)";
        for (const auto& entry : std::filesystem::directory_iterator(apps_source_dir() / "php")) {
            site_.write_file("www/app/" + entry.path().filename().string(),
                             read_file(entry.path()));
        }
        // Sessions are files the scripts' user writes, kept outside the docroot.
        std::filesystem::create_directories(site_ / "sessions");
        if (::geteuid() == 0) run_shell("chown nobody: " + shell_quote(site_.file("sessions")));
        // php-cgi reads .user.ini files between DOCUMENT_ROOT and the script (PHP's per-directory
        // settings for CGI); Debian's defaults (2M uploads, 8M posts) are too small for 5 MiB.
        // cgihost never serves it: names starting with '.' are 404.
        site_.write_file("www/app/.user.ini",
                         "upload_max_filesize = 16M\n"
                         "post_max_size = 16M\n"
                         "session.save_path = \"" +
                             site_.file("sessions") + "\"\n");
        std::vector<std::string> args = privilege_flags();
        args.insert(args.end(), {"--cgi-handlers", std::string(".php=") + kPhpCgi, "--index-files",
                                 "index.php", "index.html"});
        start(args);
    }

    std::optional<HttpResponse> post(const std::string& target, const std::string& content_type,
                                     const std::string& body, Headers headers = {}) const {
        headers.emplace_back("Content-Type", content_type);
        return http_request(port(), "POST", target, headers, body);
    }
};

// ---- The front controller: one script, every URL below it (needs PATH_INFO) ----------------

TEST_F(PhpApp, FrontControllerRoutesOnPathInfo) {
    auto lines = fetch_lines("/app/index.php/hello/world");
    EXPECT_EQ(lines["route"], "hello");
    EXPECT_EQ(lines["name"], "world");
}

TEST_F(PhpApp, FrontControllerSeesTheScriptAndThePathApart) {
    auto lines = fetch_lines("/app/index.php/server?x=1");
    const std::string script = (docroot() / "app/index.php").string();
    EXPECT_EQ(lines["SCRIPT_NAME"], "/app/index.php");
    EXPECT_EQ(lines["PATH_INFO"], "/server");
    EXPECT_EQ(lines["PHP_SELF"], "/app/index.php/server");
    EXPECT_EQ(lines["SCRIPT_FILENAME"], script);
    EXPECT_EQ(lines["executed"], script);
    EXPECT_EQ(lines["PATH_TRANSLATED"], docroot().string() + "/server");
    EXPECT_EQ(lines["REQUEST_URI"], "/app/index.php/server?x=1");
    EXPECT_EQ(lines["QUERY_STRING"], "x=1");
    EXPECT_EQ(lines["REDIRECT_STATUS"], "200");
    EXPECT_EQ(lines["php_sapi"], "cgi-fcgi");
}

TEST_F(PhpApp, FrontControllerWithoutPathInfoIsItsHomePage) {
    auto lines = fetch_lines("/app/index.php");
    EXPECT_EQ(lines["route"], "home");
}

// Apache's `DirectoryIndex index.php`: the directory's URL runs its index script.
TEST_F(PhpApp, DirectoryUrlRunsItsIndexScript) {
    auto response = get("/app/");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "route=home\n");
}

TEST_F(PhpApp, FrontControllerAnswersAnUnknownRouteWithItsOwn404) {
    auto response = get("/app/index.php/no/such/page");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 404);
    auto lines = parse_lines(response->body);
    EXPECT_EQ(lines["route"], "unknown");
    EXPECT_EQ(lines["path"], "/no/such/page");
}

// The older way: a script in cgi-bin whose first line names php-cgi. It runs because cgihost
// sets REDIRECT_STATUS for every script, not only for --cgi-handlers ones.
TEST_F(PhpApp, AScriptInCgiBinWithAPhpCgiLineRunsToo) {
    site_.write_file("cgi-bin/front.php",
                     std::string("#!") + kPhpCgi + "\n" + read_file(site_ / "www/app/index.php"),
                     0755);
    auto lines = fetch_lines("/cgi-bin/front.php/hello/shebang");
    EXPECT_EQ(lines["route"], "hello");
    EXPECT_EQ(lines["name"], "shebang");
}

// ---- Forms -----------------------------------------------------------------------------------

TEST_F(PhpApp, QueryStringBecomesGetWithArrays) {
    auto response = get("/app/form.php?name=Ada+Lovelace&tags%5B%5D=x&tags%5B%5D=y");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->header("Content-Type"), "application/json");
    EXPECT_EQ(response->body,
              "{\"method\":\"GET\",\"get\":{\"name\":\"Ada Lovelace\","
              "\"tags\":[\"x\",\"y\"]},\"post\":[]}\n");
}

TEST_F(PhpApp, UrlencodedBodyBecomesPost) {
    auto response = post("/app/form.php?from=query", "application/x-www-form-urlencoded",
                         "greeting=hello+there&n=42&empty=");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body,
              "{\"method\":\"POST\",\"get\":{\"from\":\"query\"},"
              "\"post\":{\"greeting\":\"hello there\",\"n\":\"42\","
              "\"empty\":\"\"}}\n");
}

TEST_F(PhpApp, MultipartFieldsBecomePost) {
    auto response =
        post("/app/form.php", multipart_content_type(),
             multipart_body({{"first", std::nullopt, "one"}, {"second", std::nullopt, "two\r\n"}}));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body,
              "{\"method\":\"POST\",\"get\":[],"
              "\"post\":{\"first\":\"one\",\"second\":\"two\\r\\n\"}}\n");
}

TEST_F(PhpApp, FiveMebibyteUploadArrivesIntactInFiles) {
    const std::string data = pseudo_random_bytes(5 * kMiB, 12);
    auto response = post("/app/upload.php", multipart_content_type(),
                         multipart_body({{"comment", std::nullopt, "five mebibytes"},
                                         {"file", "random.bin", data}}));
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200) << response->body;
    auto lines = parse_lines(response->body);
    EXPECT_EQ(lines["error"], "0");  // UPLOAD_ERR_OK
    EXPECT_EQ(lines["name"], "random.bin");
    EXPECT_EQ(lines["size"], std::to_string(data.size()));
    EXPECT_EQ(lines["sha256"], sha256_hex(data));  // PHP's hash_file() of its temporary file
    EXPECT_EQ(lines["uploaded"], "yes");
    EXPECT_EQ(lines["comment"], "five mebibytes");
}

// ---- State between requests ------------------------------------------------------------------

TEST_F(PhpApp, SessionCounterFollowsItsCookie) {
    auto first = get("/app/session.php");
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status, 200) << first->body;
    EXPECT_EQ(parse_lines(first->body)["visits"], "1");
    const std::string id = set_cookie_value(*first, "PHPSESSID");
    ASSERT_FALSE(id.empty()) << "no PHPSESSID cookie";

    for (int visit = 2; visit <= 3; ++visit) {
        auto next = get("/app/session.php", {{"Cookie", "PHPSESSID=" + id}});
        ASSERT_TRUE(next);
        EXPECT_EQ(parse_lines(next->body)["visits"], std::to_string(visit));
    }
    // Without the cookie it is a new visitor.
    auto stranger = get("/app/session.php");
    ASSERT_TRUE(stranger);
    EXPECT_EQ(parse_lines(stranger->body)["visits"], "1");
    EXPECT_NE(set_cookie_value(*stranger, "PHPSESSID"), id);
}

TEST_F(PhpApp, SetcookieSendsEachCookieAndReadsThemBack) {
    auto first = get("/app/cookie.php");
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status, 200);
    EXPECT_EQ(first->header_count("Set-Cookie"), 2u);
    EXPECT_EQ(set_cookie_value(*first, "flavour"), "oatmeal%20raisin");
    EXPECT_EQ(set_cookie_value(*first, "count"), "1");
    EXPECT_EQ(parse_lines(first->body).count("cookie.flavour"), 0u);

    auto second = get("/app/cookie.php", {{"Cookie", "flavour=oatmeal%20raisin; count=1"}});
    ASSERT_TRUE(second);
    auto lines = parse_lines(second->body);
    EXPECT_EQ(lines["cookie.flavour"], "oatmeal raisin");
    EXPECT_EQ(lines["cookie.count"], "1");
    EXPECT_EQ(set_cookie_value(*second, "count"), "2");
}

// ---- Status codes ----------------------------------------------------------------------------

TEST_F(PhpApp, HeaderLocationIsA302ToThatPlace) {
    auto response = get("/app/redirect.php");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 302);
    EXPECT_EQ(response->header("Location"), "/app/index.php/hello/redirected");
}

TEST_F(PhpApp, HeaderLocationToAnotherSiteIsA302Too) {
    auto response = get("/app/redirect.php?to=" + encode_query("https://example.org/next?a=b"));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 302);
    EXPECT_EQ(response->header("Location"), "https://example.org/next?a=b");
}

TEST_F(PhpApp, HttpResponseCodeSetsTheStatus) {
    for (int code : {418, 404, 201, 503}) {
        auto response = get("/app/status.php?code=" + std::to_string(code));
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, code);
        EXPECT_EQ(parse_lines(response->body)["code"], std::to_string(code));
    }
}

TEST_F(PhpApp, TheSourceAndTheSettingsAreNeverServed) {
    auto script = get("/app/index.php");
    ASSERT_TRUE(script);
    EXPECT_EQ(script->body.find("<?php"), std::string::npos);
    auto settings = get("/app/.user.ini");
    ASSERT_TRUE(settings);
    EXPECT_EQ(settings->status, 404);
}

// CVE-2012-1823: an indexed query (no '=') becomes argv words (RFC 3875 §4.4), and php-cgi
// once read "-s" there as "show the source". The script's path comes first in argv and php-cgi
// ignores its options in CGI mode, so the query stays a query.
TEST_F(PhpApp, AnIndexedQueryNeverBecomesPhpOptions) {
    for (const char* query : {"-s", "-d+auto_prepend_file%3d/etc/passwd", "-n"}) {
        auto response = get(std::string("/app/index.php?") + query);
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 200) << query;
        EXPECT_EQ(response->body, "route=home\n") << query;
    }
}

}  // namespace
}  // namespace cgihost::testing
