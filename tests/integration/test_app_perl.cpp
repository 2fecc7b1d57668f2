// Perl's CGI.pm runs unchanged: tests/apps/perl/cgipm.pl, an executable in cgi-bin with a
// `#!/usr/bin/perl` line, routing on path_info(): param, multi-valued params, an upload read
// through upload() and hashed by Digest::SHA, a cookie set and read, and redirect().
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "app_fixture.hpp"
#include "sha256.hpp"

namespace cgihost::testing {
namespace {

constexpr const char* kScript = "/cgi-bin/cgipm.pl";

class PerlCgiPm : public CgiTest {
  protected:
    void SetUp() override {
        if (run_shell("perl -MCGI -e 1").exit_status != 0) {
            GTEST_SKIP() << "needs perl with CGI.pm (Debian package libcgi-pm-perl)";
        }
        site_.write_file("cgi-bin/cgipm.pl", read_file(apps_source_dir() / "perl/cgipm.pl"), 0755);
        start(privilege_flags());
    }

    std::optional<HttpResponse> post(const std::string& target, const std::string& content_type,
                                     const std::string& body) const {
        return http_request(port(), "POST", target, {{"Content-Type", content_type}}, body);
    }
};

TEST_F(PerlCgiPm, ParamReadsTheQueryString) {
    auto lines = fetch_lines(std::string(kScript) + "/param?name=Larry+Wall");
    EXPECT_EQ(lines["name"], "Larry Wall");
    EXPECT_EQ(lines["method"], "GET");
}

TEST_F(PerlCgiPm, ParamReadsAnUrlencodedBody) {
    auto response = post(std::string(kScript) + "/param", "application/x-www-form-urlencoded",
                         "name=Randal%20L.%20Schwartz&other=1");
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200) << response->body;
    auto lines = parse_lines(response->body);
    EXPECT_EQ(lines["name"], "Randal L. Schwartz");
    EXPECT_EQ(lines["method"], "POST");
}

TEST_F(PerlCgiPm, MultiParamKeepsEveryValueInOrder) {
    auto lines =
        fetch_lines(std::string(kScript) + "/multi?colour=red&colour=green&x=1&colour=blue");
    EXPECT_EQ(lines["count"], "3");
    EXPECT_EQ(lines["colours"], "red,green,blue");
}

TEST_F(PerlCgiPm, MultiParamFromAMultipartBody) {
    auto response = post(
        std::string(kScript) + "/multi", multipart_content_type(),
        multipart_body({{"colour", std::nullopt, "cyan"}, {"colour", std::nullopt, "magenta"}}));
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200) << response->body;
    EXPECT_EQ(parse_lines(response->body)["colours"], "cyan,magenta");
}

TEST_F(PerlCgiPm, UploadArrivesIntact) {
    const std::string data = pseudo_random_bytes(3 * kMiB + 17, 34);
    auto response =
        post(std::string(kScript) + "/upload", multipart_content_type(),
             multipart_body({{"file", "blob.bin", data}, {"comment", std::nullopt, "from perl"}}));
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200) << response->body;
    auto lines = parse_lines(response->body);
    EXPECT_EQ(lines["filename"], "blob.bin");
    EXPECT_EQ(lines["size"], std::to_string(data.size()));
    EXPECT_EQ(lines["sha256"], sha256_hex(data));
    EXPECT_EQ(lines["comment"], "from perl");
}

TEST_F(PerlCgiPm, CookieIsSetAndReadBack) {
    auto first = get(std::string(kScript) + "/cookie");
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status, 200);
    EXPECT_EQ(parse_lines(first->body)["flavour"], "(none)");
    const std::string value = set_cookie_value(*first, "flavour");
    EXPECT_EQ(value, "ginger%20snap");

    auto second = get(std::string(kScript) + "/cookie", {{"Cookie", "flavour=" + value}});
    ASSERT_TRUE(second);
    EXPECT_EQ(parse_lines(second->body)["flavour"], "ginger snap");
}

TEST_F(PerlCgiPm, RedirectIsA302ThatLeadsBack) {
    auto response = get(std::string(kScript) + "/redirect");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 302);
    const std::string expected =
        "http://127.0.0.1:" + std::to_string(port()) + kScript + "/param?name=redirected";
    ASSERT_EQ(response->header("Location"), expected);
    // Following it, as a browser would.
    auto lines = fetch_lines(expected.substr(expected.find(kScript)));
    EXPECT_EQ(lines["name"], "redirected");
}

TEST_F(PerlCgiPm, UnknownRouteIsItsOwn404) {
    auto response = get(std::string(kScript) + "/nowhere");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 404);
    EXPECT_EQ(parse_lines(response->body)["route"], "unknown");
}

}  // namespace
}  // namespace cgihost::testing
