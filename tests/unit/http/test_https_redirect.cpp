#include "http/https_redirect.hpp"

#include <gtest/gtest.h>

namespace cgihost {
namespace {

Request request_for(std::string path, std::string host, std::string query = {}) {
    Request request;
    request.method = "GET";
    request.path = std::move(path);
    request.has_query = !query.empty();
    request.query = std::move(query);
    request.target = request.path + (request.has_query ? "?" + request.query : "");
    if (!host.empty()) request.headers.emplace_back("Host", std::move(host));
    return request;
}

TEST(HostWithoutPort, KeepsNamesAndAddressLiteralsAndDropsThePort) {
    struct Case {
        const char* header;
        std::optional<std::string> expected;
    };
    for (const Case& c : std::initializer_list<Case>{
             {"example.org", "example.org"},
             {"example.org:8080", "example.org"},
             {"127.0.0.1:80", "127.0.0.1"},
             {"[::1]:8080", "[::1]"},
             {"[::1]", "[::1]"},
             {"Example-Host.org", "Example-Host.org"},
         }) {
        EXPECT_EQ(host_without_port(c.header), c.expected) << c.header;
    }
}

TEST(HttpsUrl, UsesTheCanonicalNameForAHostThatIsNotOurs) {
    ServerNames names{"example.org", {"*.example.org"}};
    EXPECT_EQ(https_url(request_for("/x", "evil.example"), 443, "192.0.2.1", names),
              "https://example.org/x");
    EXPECT_EQ(https_url(request_for("/x", "evil/host"), 443, "192.0.2.1", names),
              "https://example.org/x");
    EXPECT_EQ(https_url(request_for("/x", ""), 8443, "192.0.2.1", names),
              "https://example.org:8443/x");
    EXPECT_EQ(https_url(request_for("/x", "WWW.Example.org:80"), 443, "", names),
              "https://www.example.org/x");
}

TEST(HostWithoutPort, RefusesAnythingThatCouldBendTheLocation) {
    for (const char* header : {"", "evil.org/path", "a@b", "host:port", "host:", "[::1", "[::1]x",
                               "[::1]:80x", "[fe80::1%eth0]", "a b", "host:123456"}) {
        EXPECT_EQ(host_without_port(header), std::nullopt) << header;
    }
}

TEST(HttpsUrl, UsesTheTlsPortUnless443AndKeepsPathAndQuery) {
    EXPECT_EQ(https_url(request_for("/a/b%20c", "example.org:8080", "x=1"), 8443, ""),
              "https://example.org:8443/a/b%20c?x=1");
    EXPECT_EQ(https_url(request_for("/", "example.org"), 443, ""), "https://example.org/");
    EXPECT_EQ(https_url(request_for("/", "[::1]:80"), 443, ""), "https://[::1]/");
}

TEST(HttpsUrl, FallsBackToTheLocalAddressWithoutAHostHeader) {
    EXPECT_EQ(https_url(request_for("/x", ""), 8443, "127.0.0.1"), "https://127.0.0.1:8443/x");
    EXPECT_EQ(https_url(request_for("/x", ""), 8443, "::1"), "https://[::1]:8443/x");
    EXPECT_EQ(https_url(request_for("/x", ""), 8443, ""), std::nullopt);
}

TEST(MakeHttpsRedirect, Answers308WithTheLocation) {
    Response response = make_https_redirect(request_for("/p", "h.example:80"), 8443, "");
    EXPECT_EQ(response.status, 308);
    ASSERT_NE(find_header(response.headers, "Location"), nullptr);
    EXPECT_EQ(*find_header(response.headers, "Location"), "https://h.example:8443/p");
}

TEST(MakeHttpsRedirect, Answers400ForAnUnusableHost) {
    EXPECT_EQ(make_https_redirect(request_for("/p", "bad/host"), 8443, "").status, 400);
}

TEST(HstsHeaderValue, IsMaxAgeInSeconds) {
    EXPECT_EQ(hsts_header_value(31536000), "max-age=31536000");
}

}  // namespace
}  // namespace cgihost
