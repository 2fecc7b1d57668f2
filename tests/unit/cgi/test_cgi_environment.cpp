#include "cgi/cgi_environment.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>

namespace cgihost {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

CgiRequestInfo make_request() {
    CgiRequestInfo request;
    request.method = "GET";
    request.protocol = "HTTP/1.1";
    request.request_uri = "/cgi-bin/env?x=1";
    request.query_string = "x=1";
    request.script_name = "/cgi-bin/env";
    request.script_filename = "/srv/www/cgi-bin/env";
    request.document_root = "/srv/www";
    request.headers = {{"Host", "example.org"}};
    request.remote_addr = "192.0.2.7";
    request.remote_port = 51234;
    request.server_addr = "192.0.2.1";
    request.server_port = 8080;
    return request;
}

CgiEnvironmentConfig make_config() {
    CgiEnvironmentConfig config;
    config.server_software = "cgihost/0.1.0";
    return config;
}

const char* empty_server_environment(const char*) {
    return nullptr;
}

// Builds the environment and turns it into a map, failing the test if a name appears twice or
// an entry is not NAME=value.
std::map<std::string, std::string> environment_of(
    const CgiRequestInfo& request, const CgiEnvironmentConfig& config = make_config(),
    const std::function<const char*(const char*)>& server_getenv = empty_server_environment) {
    std::map<std::string, std::string> variables;
    std::set<std::string> upper_names;
    for (const std::string& entry : build_cgi_environment(request, config, server_getenv)) {
        size_t equals = entry.find('=');
        EXPECT_NE(equals, std::string::npos) << entry;
        EXPECT_GT(equals, 0u) << entry;
        EXPECT_EQ(entry.find('\0'), std::string::npos) << entry;
        std::string name = entry.substr(0, equals);
        std::string upper = name;
        for (char& c : upper)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        EXPECT_TRUE(upper_names.insert(upper).second) << "duplicate variable " << name;
        variables[name] = entry.substr(equals + 1);
    }
    return variables;
}

std::optional<std::string> lookup(const std::map<std::string, std::string>& variables,
                                  const std::string& name) {
    auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
}

TEST(BuildCgiEnvironment, AlwaysSetsTheRfc3875Variables) {
    auto env = environment_of(make_request());
    const std::map<std::string, std::string> expected = {
        {"GATEWAY_INTERFACE", "CGI/1.1"}, {"SERVER_SOFTWARE", "cgihost/0.1.0"},
        {"SERVER_NAME", "example.org"},   {"SERVER_PORT", "8080"},
        {"SERVER_PROTOCOL", "HTTP/1.1"},  {"REQUEST_METHOD", "GET"},
        {"QUERY_STRING", "x=1"},          {"SCRIPT_NAME", "/cgi-bin/env"},
        {"REMOTE_ADDR", "192.0.2.7"},     {"REMOTE_HOST", "192.0.2.7"},
    };
    for (const auto& [name, value] : expected)
        EXPECT_EQ(lookup(env, name), value) << name;
}

TEST(BuildCgiEnvironment, PassesTheQueryStringRawAndEmptyWhenAbsent) {
    struct Case {
        std::string query, expected;
    };
    for (const Case& c :
         std::vector<Case>{{"", ""}, {"a=1&b=%20+c", "a=1&b=%20+c"}, {"%zz", "%zz"}}) {
        auto request = make_request();
        request.query_string = c.query;
        EXPECT_EQ(lookup(environment_of(request), "QUERY_STRING"), c.expected) << c.query;
    }
}

TEST(BuildCgiEnvironment, TakesServerNameFromTheHostHeaderOrTheLocalAddress) {
    struct Case {
        Headers headers;
        std::string server_addr, expected;
    };
    const std::vector<Case> cases = {
        {{{"Host", "Example.ORG"}}, "192.0.2.1", "example.org"},
        {{{"host", "example.org:8080"}}, "192.0.2.1", "example.org"},
        {{{"Host", "[::1]:8080"}}, "::1", "[::1]"},
        {{{"Host", "[2001:DB8::1]"}}, "::1", "[2001:db8::1]"},
        {{{"Host", "192.0.2.1:80"}}, "192.0.2.1", "192.0.2.1"},
        {{{"Host", "a.example"}, {"Host", "b.example"}}, "192.0.2.1", "a.example"},
        {{}, "192.0.2.1", "192.0.2.1"},
        {{{"Host", ""}}, "192.0.2.1", "192.0.2.1"},
        {{}, "2001:db8::2", "[2001:db8::2]"},
        {{{"Host", ""}}, "::1", "[::1]"},
        // Malformed Host values are not echoed to the script.
        {{{"Host", "[::1"}}, "192.0.2.1", "192.0.2.1"},
        {{{"Host", "example.org:80x"}}, "192.0.2.1", "192.0.2.1"},
        {{{"Host", "<script>"}}, "192.0.2.1", "192.0.2.1"},
        {{{"Host", "a b"}}, "192.0.2.1", "192.0.2.1"},
        {{{"Host", "[fe80::1%25eth0]"}}, "192.0.2.1", "192.0.2.1"},
        {{{"Host", ":80"}}, "192.0.2.1", "192.0.2.1"},
    };
    for (const Case& c : cases) {
        auto request = make_request();
        request.headers = c.headers;
        request.server_addr = c.server_addr;
        std::string label = c.headers.empty() ? "(no Host)" : c.headers.front().second;
        EXPECT_EQ(lookup(environment_of(request), "SERVER_NAME"), c.expected) << label;
    }
}

TEST(BuildCgiEnvironment, UsesTheCanonicalServerNameForHostsThatAreNotOurs) {
    // Apache's UseCanonicalName On: `Host: evil.example` must not steer the absolute URLs a
    // script builds from SERVER_NAME.
    auto config = make_config();
    config.server_names = {"example.org", {"www.example.org"}};
    struct Case {
        Headers headers;
        std::string expected;
    };
    for (const Case& c : std::vector<Case>{
             {{{"Host", "evil.example"}}, "example.org"},
             {{{"Host", "EVIL.example:8080"}}, "example.org"},
             {{{"Host", "192.0.2.1"}}, "example.org"},
             {{{"Host", "<script>"}}, "example.org"},
             {{}, "example.org"},
             {{{"Host", "WWW.example.org:8080"}}, "www.example.org"},
             {{{"Host", "example.org"}}, "example.org"},
         }) {
        auto request = make_request();
        request.headers = c.headers;
        request.server_addr = "192.0.2.1";
        std::string label = c.headers.empty() ? "(no Host)" : c.headers.front().second;
        EXPECT_EQ(lookup(environment_of(request, config), "SERVER_NAME"), c.expected) << label;
    }
}

TEST(BuildCgiEnvironment, AlwaysSetsServerPortEvenForTheDefaultPort) {
    for (uint16_t port : {80, 443, 8080}) {
        auto request = make_request();
        request.server_port = port;
        EXPECT_EQ(lookup(environment_of(request), "SERVER_PORT"), std::to_string(port));
    }
}

TEST(BuildCgiEnvironment, SetsPathInfoAndPathTranslatedOnlyWhenThereIsPathInfo) {
    struct Case {
        std::string path_info, document_root;
        std::optional<std::string> expected_info, expected_translated;
    };
    const std::vector<Case> cases = {
        {"", "/srv/www", std::nullopt, std::nullopt},
        {"/a/b c", "/srv/www", "/a/b c", "/srv/www/a/b c"},
        {"/a", "/srv/www/", "/a", "/srv/www/a"},
        {"/a", "/", "/a", "/a"},
    };
    for (const Case& c : cases) {
        auto request = make_request();
        request.path_info = c.path_info;
        request.document_root = c.document_root;
        auto env = environment_of(request);
        EXPECT_EQ(lookup(env, "PATH_INFO"), c.expected_info) << c.path_info;
        EXPECT_EQ(lookup(env, "PATH_TRANSLATED"), c.expected_translated) << c.path_info;
    }
}

TEST(BuildCgiEnvironment, SetsContentVariablesOnlyWhenTheRequestHasThem) {
    struct Case {
        std::string label;
        bool has_body;
        uint64_t length;
        Headers headers;
        std::optional<std::string> expected_length, expected_type;
    };
    const std::vector<Case> cases = {
        {"bodyless GET", false, 0, {}, std::nullopt, std::nullopt},
        {"POST",
         true,
         5,
         {{"Content-Type", "text/plain"}, {"Content-Length", "5"}},
         "5",
         "text/plain"},
        {"empty POST", true, 0, {{"Content-Length", "0"}}, "0", std::nullopt},
        {"chunked", true, 1234, {{"Transfer-Encoding", "chunked"}}, "1234", std::nullopt},
        {"type without body", false, 0, {{"content-type", "a/b"}}, std::nullopt, "a/b"},
        {"empty type", true, 1, {{"Content-Type", ""}}, "1", std::nullopt},
        {"repeated type", true, 1, {{"Content-Type", "a/b"}, {"Content-Type", "c/d"}}, "1", "a/b"},
    };
    for (const Case& c : cases) {
        auto request = make_request();
        request.has_body = c.has_body;
        request.content_length = c.length;
        request.headers = c.headers;
        auto env = environment_of(request);
        EXPECT_EQ(lookup(env, "CONTENT_LENGTH"), c.expected_length) << c.label;
        EXPECT_EQ(lookup(env, "CONTENT_TYPE"), c.expected_type) << c.label;
        EXPECT_FALSE(lookup(env, "HTTP_CONTENT_LENGTH")) << c.label;
        EXPECT_FALSE(lookup(env, "HTTP_CONTENT_TYPE")) << c.label;
    }
}

TEST(BuildCgiEnvironment, SetsAuthVariablesOnlyWhenTheServerAuthenticated) {
    struct Case {
        std::string auth_type, remote_user;
        std::optional<std::string> expected_type, expected_user;
    };
    const std::vector<Case> cases = {
        {"", "", std::nullopt, std::nullopt},
        {"Basic", "alice", "Basic", "alice"},
    };
    for (const Case& c : cases) {
        auto request = make_request();
        request.auth_type = c.auth_type;
        request.remote_user = c.remote_user;
        auto env = environment_of(request);
        EXPECT_EQ(lookup(env, "AUTH_TYPE"), c.expected_type);
        EXPECT_EQ(lookup(env, "REMOTE_USER"), c.expected_user);
        EXPECT_FALSE(lookup(env, "REMOTE_IDENT"));
    }
}

TEST(BuildCgiEnvironment, MapsRequestHeadersToHttpVariables) {
    struct Case {
        std::string header;
        bool pass_authorization;
        std::optional<std::string> expected_name;  // nullopt: the header must not appear
    };
    const std::vector<Case> cases = {
        {"Accept", false, "HTTP_ACCEPT"},
        {"user-agent", false, "HTTP_USER_AGENT"},
        {"X-Forwarded-For", false, "HTTP_X_FORWARDED_FOR"},
        {"X.Odd!Token~", false, "HTTP_X.ODD!TOKEN~"},
        {"Connection", false, "HTTP_CONNECTION"},
        {"Proxy", false, std::nullopt},
        {"PROXY", true, std::nullopt},
        {"X_Forwarded_For", false, std::nullopt},
        {"Content_Type", false, std::nullopt},
        {"X Y", false, std::nullopt},
        {"X(Y)", false, std::nullopt},
        {"X=Y", false, std::nullopt},
        {"", false, std::nullopt},
        {std::string("X\0Y", 3), false, std::nullopt},
        {"Caf\xc3\xa9", false, std::nullopt},
        {"Authorization", false, std::nullopt},
        {"Proxy-Authorization", false, std::nullopt},
        {"Authorization", true, "HTTP_AUTHORIZATION"},
        {"proxy-authorization", true, "HTTP_PROXY_AUTHORIZATION"},
    };
    for (const Case& c : cases) {
        auto request = make_request();
        request.headers = {{c.header, "value"}};
        auto config = make_config();
        config.pass_authorization = c.pass_authorization;
        auto env = environment_of(request, config);
        std::vector<std::string> http_names;
        for (const auto& [name, value] : env) {
            if (name.starts_with("HTTP_")) http_names.push_back(name);
        }
        if (c.expected_name) {
            EXPECT_EQ(http_names, std::vector<std::string>{*c.expected_name}) << c.header;
            EXPECT_EQ(lookup(env, *c.expected_name), "value") << c.header;
        } else {
            EXPECT_TRUE(http_names.empty()) << c.header;
        }
    }
}

TEST(BuildCgiEnvironment, JoinsRepeatedHeadersInArrivalOrder) {
    struct Case {
        Headers headers;
        std::string name, expected;
    };
    const std::vector<Case> cases = {
        {{{"Accept", "a/b"}, {"Accept", "c/d"}}, "HTTP_ACCEPT", "a/b, c/d"},
        {{{"accept", "1"}, {"X", "y"}, {"ACCEPT", "2"}, {"Accept", "3"}}, "HTTP_ACCEPT", "1, 2, 3"},
        {{{"Cookie", "a=1"}, {"cookie", "b=2"}}, "HTTP_COOKIE", "a=1; b=2"},
        {{{"X-Empty", ""}, {"X-Empty", "v"}}, "HTTP_X_EMPTY", ", v"},
    };
    for (const Case& c : cases) {
        auto request = make_request();
        request.headers = c.headers;
        EXPECT_EQ(lookup(environment_of(request), c.name), c.expected) << c.name;
    }
}

TEST(BuildCgiEnvironment, SetsTheCommonExtras) {
    struct Case {
        bool https;
        std::optional<std::string> expected_https;
        std::string expected_scheme;
    };
    for (const Case& c : std::vector<Case>{{false, std::nullopt, "http"}, {true, "on", "https"}}) {
        auto request = make_request();
        request.https = c.https;
        auto env = environment_of(request);
        EXPECT_EQ(lookup(env, "HTTPS"), c.expected_https);
        EXPECT_EQ(lookup(env, "REQUEST_SCHEME"), c.expected_scheme);
        EXPECT_EQ(lookup(env, "REQUEST_URI"), "/cgi-bin/env?x=1");
        EXPECT_EQ(lookup(env, "SCRIPT_FILENAME"), "/srv/www/cgi-bin/env");
        EXPECT_EQ(lookup(env, "DOCUMENT_ROOT"), "/srv/www");
        EXPECT_EQ(lookup(env, "REMOTE_PORT"), "51234");
        EXPECT_EQ(lookup(env, "SERVER_ADDR"), "192.0.2.1");
        EXPECT_EQ(lookup(env, "REDIRECT_STATUS"), "200");
    }
}

TEST(BuildCgiEnvironment, GivesHttpsRequestsTheModSslVariables) {
    auto request = make_request();
    request.https = true;
    request.ssl_protocol = "TLSv1.3";
    request.ssl_cipher = "TLS_AES_128_GCM_SHA256";
    request.ssl_tls_sni = "example.org";
    auto env = environment_of(request);
    EXPECT_EQ(lookup(env, "SSL_PROTOCOL"), "TLSv1.3");
    EXPECT_EQ(lookup(env, "SSL_CIPHER"), "TLS_AES_128_GCM_SHA256");
    EXPECT_EQ(lookup(env, "SSL_TLS_SNI"), "example.org");
    request.ssl_tls_sni.clear();  // a client that named no server
    EXPECT_EQ(lookup(environment_of(request), "SSL_TLS_SNI"), std::nullopt);
}

TEST(BuildCgiEnvironment, GivesPlainRequestsNoSslVariables) {
    auto request = make_request();
    request.ssl_protocol = "TLSv1.3";  // never looked at without https
    auto env = environment_of(request);
    EXPECT_EQ(lookup(env, "SSL_PROTOCOL"), std::nullopt);
    EXPECT_EQ(lookup(env, "SSL_CIPHER"), std::nullopt);
}

TEST(BuildCgiEnvironment, AppliesPathThenPassThenSet) {
    struct Case {
        std::string label, path;
        std::vector<std::string> pass;
        Headers set;
        std::map<std::string, std::optional<std::string>> expected;
    };
    const std::vector<Case> cases = {
        {"default path", "/bin", {}, {}, {{"PATH", "/bin"}}},
        {"no path", "", {}, {}, {{"PATH", std::nullopt}}},
        {"pass present and absent",
         "/bin",
         {"TZ", "UNSET"},
         {},
         {{"TZ", "UTC"}, {"UNSET", std::nullopt}}},
        {"pass overrides path", "/bin", {"PATH"}, {}, {{"PATH", "/server/bin"}}},
        {"set adds", "/bin", {}, {{"APP_MODE", "test"}}, {{"APP_MODE", "test"}}},
        {"set overrides pass", "/bin", {"TZ"}, {{"TZ", "CET"}}, {{"TZ", "CET"}}},
        {"set overrides rfc variable", "/bin", {}, {{"SERVER_NAME", "x"}}, {{"SERVER_NAME", "x"}}},
        {"set overrides a header", "/bin", {}, {{"HTTP_HOST", "h"}}, {{"HTTP_HOST", "h"}}},
        {"set overrides ignoring case",
         "/bin",
         {},
         {{"path", "/p"}},
         {{"path", "/p"}, {"PATH", std::nullopt}}},
        {"later set wins", "/bin", {}, {{"A", "1"}, {"A", "2"}}, {{"A", "2"}}},
        {"set may empty a value", "/bin", {}, {{"A", ""}}, {{"A", ""}}},
        {"invalid names dropped",
         "/bin",
         {"", "A=B"},
         {{"", "x"}, {"B=C", "y"}},
         {{"", std::nullopt}, {"A", std::nullopt}, {"B", std::nullopt}}},
    };
    const std::map<std::string, std::string> server_environment = {{"TZ", "UTC"},
                                                                   {"PATH", "/server/bin"}};
    auto server_getenv = [&](const char* name) -> const char* {
        auto found = server_environment.find(name);
        return found == server_environment.end() ? nullptr : found->second.c_str();
    };
    for (const Case& c : cases) {
        auto config = make_config();
        config.path = c.path;
        config.pass = c.pass;
        config.set = c.set;
        auto env = environment_of(make_request(), config, server_getenv);
        for (const auto& [name, value] : c.expected) {
            EXPECT_EQ(lookup(env, name), value) << c.label << ": " << name;
        }
    }
}

TEST(BuildCgiEnvironment, RemovesNulBytesFromValues) {
    auto request = make_request();
    request.path_info = std::string("/a\0b", 4);
    request.headers.emplace_back("X-Nul", std::string("1\0002", 3));
    auto config = make_config();
    config.set = {{"S", std::string("x\0y", 3)}};
    auto env = environment_of(request, config);
    EXPECT_EQ(lookup(env, "PATH_INFO"), "/ab");
    EXPECT_EQ(lookup(env, "HTTP_X_NUL"), "12");
    EXPECT_EQ(lookup(env, "S"), "xy");
}

TEST(BuildCgiEnvironment, EmitsNameEqualsValueStrings) {
    auto envp = build_cgi_environment(make_request(), make_config(), empty_server_environment);
    EXPECT_EQ(envp.front(), "GATEWAY_INTERFACE=CGI/1.1");
    EXPECT_NE(std::find(envp.begin(), envp.end(), "HTTP_HOST=example.org"), envp.end());
}

TEST(BuildCgiArgv, SplitsOnlyIndexedQueries) {
    struct Case {
        std::string method, query;
        std::vector<std::string> expected_words;  // after the script path
    };
    const std::vector<Case> cases = {
        {"GET", "hello", {"hello"}},
        {"GET", "a+b+c", {"a", "b", "c"}},
        {"HEAD", "a%20b+%2B", {"a b", "+"}},
        {"GET", "x%3Dy", {"x=y"}},
        {"GET", "caf%C3%A9", {"caf\xc3\xa9"}},
        {"GET", "", {}},
        {"GET", "a=b", {}},
        {"GET", "a+b=c", {}},
        {"POST", "hello", {}},
        {"get", "hello", {}},
        {"GET", "a%zz", {}},
        {"GET", "a+%2", {}},
        {"GET", "a%00b", {}},
        {"GET", "a++b", {}},
        {"GET", "+a", {}},
        {"GET", "a+", {}},
        {"GET", "+", {}},
    };
    for (const Case& c : cases) {
        std::vector<std::string> expected = {"/srv/cgi-bin/search"};
        expected.insert(expected.end(), c.expected_words.begin(), c.expected_words.end());
        EXPECT_EQ(build_cgi_argv("/srv/cgi-bin/search", c.method, c.query), expected)
            << c.method << " " << c.query;
    }
}

}  // namespace
}  // namespace cgihost
