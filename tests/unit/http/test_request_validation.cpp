#include "http/request_validation.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace cgihost {
namespace {

constexpr RequestLimits kLimits{1024, 2048};  // max_uri_size, max_header_size

Request make_request(std::string target, HeaderList headers, int minor = 1) {
    Request request;
    request.method = "GET";
    request.version_minor = minor;
    request.target = target;
    request.path = target.substr(0, target.find('?'));
    request.headers = std::move(headers);
    return request;
}

HeaderList with_host(HeaderList headers = {}) {
    headers.insert(headers.begin(), {"Host", "example.org"});
    return headers;
}

struct ValidationCase {
    std::string name;
    Request request;
    std::optional<int> status;  // nullopt = may proceed
    bool close = false;         // expected close_connection when refused
};

std::vector<ValidationCase> validation_cases() {
    Request absolute_form = make_request("http://example.org/x", with_host());
    absolute_form.path = "/x";  // evhttp gives the path of an absolute-form target
    Request asterisk = make_request("*", with_host());
    asterisk.method = "OPTIONS";
    // Found by tests/fuzz/fuzz_request: "GET / HTTP/0.1" was answered "HTTP/0.1 200 OK".
    Request http01 = make_request("/", with_host());
    http01.version_major = 0;
    Request http20 = make_request("/", with_host(), 0);
    http20.version_major = 2;
    Request http15 = make_request("/", with_host(), 5);
    return {
        {"plain GET", make_request("/index.html", with_host()), std::nullopt},
        {"GET with query", make_request("/a?b=c", with_host()), std::nullopt},
        {"absolute-form target", absolute_form, std::nullopt},
        {"target one byte over the limit", make_request("/" + std::string(1024, 'a'), with_host()),
         414, true},
        {"target exactly at the limit", make_request("/" + std::string(1023, 'a'), with_host()),
         std::nullopt},
        {"headers too large", make_request("/", with_host({{"X-Big", std::string(2048, 'x')}})),
         431, true},
        {"HTTP/1.1 without Host", make_request("/", {}), 400, true},
        {"two Host headers", make_request("/", with_host({{"host", "evil.example"}})), 400, true},
        {"two identical Host headers", make_request("/", with_host({{"Host", "example.org"}})), 400,
         true},
        {"HTTP/1.0 without Host", make_request("/", {}, 0), std::nullopt},
        {"HTTP/0.1", http01, 505, true},
        {"HTTP/2.0 in an HTTP/1 request line", http20, 505, true},
        {"HTTP/1.5 is served as HTTP/1.1", http15, std::nullopt},
        {"HTTP/1.0 with two Host headers", make_request("/", {{"Host", "a"}, {"Host", "b"}}, 0),
         400, true},
        {"bare CR in the target", make_request("/index.html\rX: y", with_host()), 400, false},
        {"control byte in the target", make_request("/a\x01b", with_host()), 400, false},
        {"tab in the target", make_request("/a\tb", with_host()), 400, false},
        {"space in a header name", make_request("/", with_host({{"X A", "b"}})), 400, true},
        {"space before the colon", make_request("/", with_host({{"X-A ", "b"}})), 400, true},
        {"empty header name", make_request("/", with_host({{"", "b"}})), 400, true},
        {"DEL in a header value", make_request("/", with_host({{"X-A", "b\x7f"}})), 400, true},
        {"escape byte in a header value", make_request("/", with_host({{"X-A", "\x1b[2J"}})), 400,
         true},
        {"tab in a header value", make_request("/", with_host({{"X-A", "b\tc"}})), std::nullopt},
        {"Host with a space", make_request("/", {{"Host", "a b"}}), 400, true},
        {"Host with a path", make_request("/", {{"Host", "x/evil"}}), 400, true},
        {"Host with userinfo", make_request("/", {{"Host", "user@x"}}), 400, true},
        {"Host with a port", make_request("/", {{"Host", "example.org:8080"}}), std::nullopt},
        {"Host as an IPv6 literal", make_request("/", {{"Host", "[::1]:8080"}}), std::nullopt},
        {"empty Host", make_request("/", {{"Host", ""}}), std::nullopt},
        {"path without leading slash", make_request("index.html", with_host()), 400, false},
        {"asterisk-form", asterisk, 400, false},
        {"empty path", make_request("", with_host()), 400, false},
    };
}

TEST(ValidateRequest, RefusesWhatBreaksFramingOrLimitsAndLetsTheRestThrough) {
    for (const ValidationCase& c : validation_cases()) {
        SCOPED_TRACE(c.name);
        std::optional<Response> refusal = validate_request(c.request, kLimits);
        ASSERT_EQ(refusal.has_value(), c.status.has_value())
            << (refusal ? std::to_string(refusal->status) : "proceed");
        if (!refusal) continue;
        EXPECT_EQ(refusal->status, *c.status);
        EXPECT_EQ(refusal->close_connection, c.close);
        EXPECT_NE(refusal->body.find(std::to_string(*c.status)), std::string::npos);
        EXPECT_EQ(*find_header(refusal->headers, "Content-Type"), "text/html; charset=utf-8");
    }
}

TEST(ValidateRequest, ChecksTheUriLengthBeforeAnythingElse) {
    Request request = make_request("/" + std::string(2000, 'a'), {});  // also has no Host
    auto refusal = validate_request(request, kLimits);
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->status, 414);
}

TEST(ValidateRequest, CountsTheWholeHeadAgainstTheHeaderLimit) {
    Request request = make_request("/", with_host());
    uint64_t room = kLimits.max_header_size - request_head_size(request);
    // "X: " + value + CRLF fills the head exactly to the limit: allowed.
    request.headers.emplace_back("X", std::string(room - 5, 'v'));
    ASSERT_EQ(request_head_size(request), kLimits.max_header_size);
    EXPECT_FALSE(validate_request(request, kLimits));
    request.headers.back().second += 'v';
    auto refusal = validate_request(request, kLimits);
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->status, 431);
}

TEST(RequestHeadSize, CountsTheRequestLineAndEveryHeaderLineWithCrlf) {
    Request request = make_request("/abc", {{"Host", "h"}, {"Accept", "*/*"}});
    // "GET /abc HTTP/1.1\r\n" = 19, "Host: h\r\n" = 9, "Accept: */*\r\n" = 13.
    EXPECT_EQ(request_head_size(request), 19u + 9u + 13u);
}

}  // namespace
}  // namespace cgihost
