// The first half of the sample CGI programs (cgi-bin/) and the start page (www/), served by the
// real binary from the build's cgi-bin and the source tree's www: each sample's happy path, and
// the 4xx pages it must give for bad input instead of crashing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "test_server.hpp"

namespace cgihost::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kHtml = "text/html; charset=utf-8";
constexpr const char* kForm = "application/x-www-form-urlencoded";
constexpr const char* kBoundary = "----cgihost-forms-5b2e90d1";
// cookies' session ids: 128 random bits, the issue time, and the HMAC-SHA-256 of both.
const std::string kSessionIdPattern = "[0-9a-f]{32}\\.[0-9]+\\.[0-9a-f]{64}";

std::string directory_from_env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        throw std::runtime_error(std::string(name) + " is not set; run the tests with meson test");
    }
    return value;
}

std::vector<std::string> headers_named(const HttpResponse& response, const std::string& name) {
    std::vector<std::string> values;
    for (const auto& [header, value] : response.headers) {
        if (strcasecmp(header.c_str(), name.c_str()) == 0) values.push_back(value);
    }
    return values;
}

// The Set-Cookie line for `name`, or "" when the response does not set it.
std::string set_cookie_for(const HttpResponse& response, const std::string& name) {
    for (const std::string& value : headers_named(response, "Set-Cookie")) {
        if (value.rfind(name + "=", 0) == 0) return value;
    }
    return "";
}

// "name=value" from a Set-Cookie line, as a browser would send it back.
std::string cookie_pair(const std::string& set_cookie) {
    return set_cookie.substr(0, set_cookie.find(';'));
}

// A multipart/form-data body (RFC 7578) carrying `fields` as plain form fields, in order.
std::string multipart_form(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string body;
    for (const auto& [name, value] : fields) {
        body += std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"" +
                name + "\"\r\n\r\n" + value + "\r\n";
    }
    return body + "--" + kBoundary + "--\r\n";
}

// Every href="/..." of a page, in order.
std::vector<std::string> local_links(const std::string& page) {
    const std::string marker = "href=\"/";
    std::vector<std::string> links;
    for (auto start = page.find(marker); start != std::string::npos;
         start = page.find(marker, start + 1)) {
        auto begin = start + marker.size() - 1;
        links.push_back(page.substr(begin, page.find('"', begin) - begin));
    }
    return links;
}

class SamplesBasic : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        // cookies keeps the key that signs its session ids in the data directory.
        data_ = std::make_unique<TempDir>();
        data_->let_anyone_write();  // the scripts run as another user when we are root
        server_ = std::make_unique<TestServer>(std::vector<std::string>{
            "--cgi-dir", directory_from_env("CGIHOST_SAMPLES_DIR"), "--docroot",
            directory_from_env("CGIHOST_WWW_DIR"), "--cgi-env-set",
            "CGIHOST_DATA_DIR=" + data_->path().string()});
    }
    static void TearDownTestSuite() {
        server_.reset();
        data_.reset();
    }

    static uint16_t port() { return server_->port(); }

    static HttpResponse get(const std::string& target, const HeaderList& headers = {}) {
        auto response = http_get(port(), target, headers);
        if (!response) throw std::runtime_error("no response to GET " + target);
        return *response;
    }

    static HttpResponse request(const std::string& method, const std::string& target,
                                const HeaderList& headers = {}, const std::string& body = {}) {
        auto response = http_request(port(), method, target, headers, body);
        if (!response) throw std::runtime_error("no response to " + method + ' ' + target);
        return *response;
    }

    static HttpResponse post_form(const std::string& target, const std::string& body,
                                  HeaderList headers = {}) {
        headers.emplace_back("Content-Type", kForm);
        return request("POST", target, headers, body);
    }

    static inline std::unique_ptr<TempDir> data_;
    static inline std::unique_ptr<TestServer> server_;
};

// ---- the start page ----

TEST_F(SamplesBasic, StartPageLinksEverySample) {
    HttpResponse response = get("/");
    ASSERT_EQ(response.status, 200);
    EXPECT_EQ(response.header("Content-Type"), kHtml);
    for (const char* target :
         {"/cgi-bin/hello", "/cgi-bin/env", "/hello_get.html", "/checkbox.html", "/radio.html",
          "/textarea.html", "/dropdown.html", "/cgi-bin/cookies", "/upload.html",
          "/cgi-bin/download", "/cgi-bin/redirect", "/chat.html", "/background.html",
          "/cgi-bin/hello.sh?name=Ada", "/cgi-bin/hello.py?name=Ada"}) {
        EXPECT_THAT(response.body, HasSubstr(std::string("href=\"") + target + '"'));
    }
    EXPECT_THAT(response.body, HasSubstr("action=\"/cgi-bin/hello.sh\""));
    EXPECT_THAT(response.body, HasSubstr("formaction=\"/cgi-bin/hello.py\""));
}

TEST_F(SamplesBasic, StartPageShowsTheLogoAndTheSharedStylesheet) {
    HttpResponse page = get("/");
    EXPECT_THAT(page.body, HasSubstr("<img src=\"/logo.svg\""));
    EXPECT_THAT(page.body, HasSubstr("<link rel=\"stylesheet\" href=\"/style.css\">"));
    HttpResponse logo = get("/logo.svg");
    EXPECT_EQ(logo.status, 200);
    EXPECT_EQ(logo.header("Content-Type").rfind("image/svg+xml", 0), 0u);
    EXPECT_THAT(logo.body, HasSubstr("<svg"));
    HttpResponse style = get("/style.css");
    EXPECT_EQ(style.status, 200);
    EXPECT_EQ(style.header("Content-Type").rfind("text/css", 0), 0u);
}

TEST_F(SamplesBasic, StartPageLinksToOurSamplesAllWork) {
    // The other half of the samples (upload, download, chat, background) is tested elsewhere.
    const std::vector<std::string> theirs = {"upload", "download", "chat", "background"};
    int checked = 0;
    for (const std::string& target : local_links(get("/").body)) {
        bool is_theirs = std::any_of(theirs.begin(), theirs.end(), [&](const std::string& name) {
            return target.find(name) != std::string::npos;
        });
        if (is_theirs) continue;
        EXPECT_EQ(get(target).status, 200) << target;
        ++checked;
    }
    EXPECT_GE(checked, 12);
}

TEST_F(SamplesBasic, FormPagesSendTheirFieldsToTheirProgramsByGetAndByPost) {
    const std::vector<std::pair<std::string, std::vector<std::string>>> pages = {
        {"/hello_get.html",
         {"method=\"get\" action=\"/cgi-bin/hello_get\"",
          "method=\"post\" action=\"/cgi-bin/hello_get\"", "name=\"first_name\"",
          "name=\"last_name\""}},
        {"/checkbox.html",
         {"method=\"get\" action=\"/cgi-bin/checkbox\"", "formmethod=\"post\">",
          "formmethod=\"post\" formenctype=\"multipart/form-data\">",
          "type=\"checkbox\" name=\"maths\"", "type=\"checkbox\" name=\"physics\"",
          "type=\"checkbox\" name=\"chemistry\""}},
        {"/radio.html",
         {"method=\"get\" action=\"/cgi-bin/radio\"", "formmethod=\"post\">",
          "formmethod=\"post\" formenctype=\"multipart/form-data\">",
          "type=\"radio\" name=\"subject\""}},
        {"/textarea.html",
         {"method=\"post\" action=\"/cgi-bin/textarea\"", "formenctype=\"multipart/form-data\">",
          "formmethod=\"get\">", "name=\"message\""}},
        {"/dropdown.html",
         {"method=\"get\" action=\"/cgi-bin/dropdown\"", "formmethod=\"post\">",
          "formmethod=\"post\" formenctype=\"multipart/form-data\">", "<select name=\"subject\">",
          "<select name=\"days\" multiple"}},
    };
    for (const auto& [page, fragments] : pages) {
        HttpResponse response = get(page);
        EXPECT_EQ(response.status, 200) << page;
        for (const std::string& fragment : fragments) {
            EXPECT_THAT(response.body, HasSubstr(fragment)) << page;
        }
    }
}

// ---- hello and env ----

TEST_F(SamplesBasic, HelloWritesAPageInTheSharedFrame) {
    HttpResponse response = get("/cgi-bin/hello");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("Content-Type"), kHtml);
    EXPECT_THAT(response.body, HasSubstr("<h1>Hello, world!</h1>"));
    EXPECT_THAT(response.body, HasSubstr("<!DOCTYPE html>"));
    EXPECT_THAT(response.body, HasSubstr("href=\"/style.css\""));
    EXPECT_THAT(response.body, HasSubstr("<a href=\"/\">"));
}

TEST_F(SamplesBasic, EnvListsTheRequestsVariablesSorted) {
    HttpResponse response = get("/cgi-bin/env?colour=blue");
    EXPECT_EQ(response.status, 200);
    const std::string& body = response.body;
    EXPECT_THAT(body, HasSubstr("<code>QUERY_STRING</code></td><td><code>colour=blue</code>"));
    EXPECT_THAT(body, HasSubstr("<code>REQUEST_METHOD</code></td><td><code>GET</code>"));
    EXPECT_THAT(body, HasSubstr("<code>SCRIPT_NAME</code></td><td><code>/cgi-bin/env</code>"));
    auto gateway = body.find("<code>GATEWAY_INTERFACE</code>");
    auto query = body.find("<code>QUERY_STRING</code>");
    auto protocol = body.find("<code>SERVER_PROTOCOL</code>");
    ASSERT_NE(gateway, std::string::npos);
    EXPECT_LT(gateway, query);
    EXPECT_LT(query, protocol);
}

TEST_F(SamplesBasic, EnvEscapesWhatTheClientSent) {
    HttpResponse response =
        get("/cgi-bin/env?q=%3Cb%3E", {{"X-Probe", "<script>alert(\"x\")</script>&"}});
    EXPECT_EQ(response.status, 200);
    EXPECT_THAT(response.body, HasSubstr("<code>HTTP_X_PROBE</code></td><td><code>&lt;script&gt;"
                                         "alert(&quot;x&quot;)&lt;/script&gt;&amp;</code>"));
    EXPECT_THAT(response.body, Not(HasSubstr("<script>")));
}

// Issue 12 item 9: a page's scripts can read the page, so env must not print the HttpOnly
// session cookie, credentials, or where the server keeps its files.
TEST_F(SamplesBasic, EnvHidesCookieValuesCredentialsAndServerPaths) {
    const std::string session = "f00dfeedf00dfeedf00dfeedf00dfeed";
    HttpResponse response =
        get("/cgi-bin/env", {{"Cookie", "session_id=" + session + "; colour=teal"},
                             {"Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"}});
    ASSERT_EQ(response.status, 200);
    const std::string& body = response.body;
    EXPECT_THAT(body, HasSubstr("<code>HTTP_COOKIE</code></td><td><code class=\"masked\">"
                                "session_id=(hidden, 32 bytes); colour=(hidden, 4 bytes)</code>"));
    EXPECT_THAT(body, Not(HasSubstr(session)));
    EXPECT_THAT(body, Not(HasSubstr("teal")));
    EXPECT_THAT(body, Not(HasSubstr("YWxhZGRpbjpvcGVuc2VzYW1l")));
    for (const std::string& path :
         {directory_from_env("CGIHOST_SAMPLES_DIR"), directory_from_env("CGIHOST_WWW_DIR"),
          data_->path().string()}) {
        EXPECT_THAT(body, Not(HasSubstr(path)));
    }
    for (const char* name : {"DOCUMENT_ROOT", "SCRIPT_FILENAME", "CGIHOST_DATA_DIR"}) {
        EXPECT_THAT(body, HasSubstr(std::string("<code>") + name +
                                    "</code></td><td><code class=\"masked\">(hidden, "))
            << name;
    }
    // Paths in the URL are the client's own and stay.
    EXPECT_THAT(body, HasSubstr("<code>SCRIPT_NAME</code></td><td><code>/cgi-bin/env</code>"));
    EXPECT_THAT(body, HasSubstr("Why some values are hidden"));
}

TEST_F(SamplesBasic, EnvHidesThePathTranslatedButShowsWhatTheUrlCarries) {
    HttpResponse response = get("/cgi-bin/env/some/where?/not/a/path");
    ASSERT_EQ(response.status, 200);
    EXPECT_THAT(response.body,
                HasSubstr("<code>PATH_INFO</code></td><td><code>/some/where</code>"));
    EXPECT_THAT(response.body,
                HasSubstr("<code>QUERY_STRING</code></td><td><code>/not/a/path</code>"));
    EXPECT_THAT(response.body,
                HasSubstr("<code>PATH_TRANSLATED</code></td><td><code class=\"masked\">"));
    EXPECT_THAT(response.body, Not(HasSubstr(directory_from_env("CGIHOST_WWW_DIR"))));
}

TEST_F(SamplesBasic, EnvRefusesPostWith405AndAllow) {
    HttpResponse response = post_form("/cgi-bin/env", "a=b");
    EXPECT_EQ(response.status, 405);
    EXPECT_EQ(response.header("Allow"), "GET, HEAD");
    EXPECT_EQ(response.header("Content-Type"), kHtml);
}

// ---- hello_get ----

TEST_F(SamplesBasic, HelloGetGreetsFromAGetForm) {
    HttpResponse response = get("/cgi-bin/hello_get?first_name=Ada&last_name=Lovelace");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("Content-Type"), kHtml);
    EXPECT_THAT(response.body, HasSubstr("Hello, Ada Lovelace!"));
    EXPECT_THAT(response.body, HasSubstr("<code>GET</code>"));
}

TEST_F(SamplesBasic, HelloGetGreetsFromAPostForm) {
    HttpResponse response =
        post_form("/cgi-bin/hello_get", "first_name=Grace&last_name=Hopper+%C3%A9");
    EXPECT_EQ(response.status, 200);
    EXPECT_THAT(response.body, HasSubstr("Hello, Grace Hopper \xC3\xA9!"));
    EXPECT_THAT(response.body, HasSubstr("<code>POST</code>"));
}

TEST_F(SamplesBasic, HelloGetAnswersAMissingOrEmptyFieldWith400) {
    for (const char* query :
         {"", "?first_name=Ada", "?last_name=Lovelace", "?first_name=&last_name=Lovelace"}) {
        HttpResponse response = get(std::string("/cgi-bin/hello_get") + query);
        EXPECT_EQ(response.status, 400) << query;
        EXPECT_EQ(response.header("Content-Type"), kHtml) << query;
        EXPECT_THAT(response.body, HasSubstr("class=\"error\"")) << query;
    }
    HttpResponse post = post_form("/cgi-bin/hello_get", "first_name=Ada");
    EXPECT_EQ(post.status, 400);
    EXPECT_THAT(post.body, HasSubstr("last_name"));
}

TEST_F(SamplesBasic, HelloGetRefusesOtherMethodsWith405AndAllow) {
    for (const char* method : {"PUT", "DELETE", "PATCH"}) {
        HttpResponse response =
            request(method, "/cgi-bin/hello_get", {{"Content-Type", kForm}}, "first_name=a");
        EXPECT_EQ(response.status, 405) << method;
        EXPECT_EQ(response.header("Allow"), "GET, HEAD, POST") << method;
    }
}

TEST_F(SamplesBasic, HelloGetEscapesMarkupInTheNames) {
    const std::string attack = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    for (const HttpResponse& response :
         {get("/cgi-bin/hello_get?first_name=" + attack + "&last_name=%22%26%27"),
          post_form("/cgi-bin/hello_get", "first_name=" + attack + "&last_name=%22%26%27")}) {
        EXPECT_EQ(response.status, 200);
        EXPECT_THAT(response.body, HasSubstr("Hello, &lt;script&gt;alert(1)&lt;/script&gt; "
                                             "&quot;&amp;&#39;!"));
        EXPECT_THAT(response.body, Not(HasSubstr("<script>")));
    }
}

TEST_F(SamplesBasic, HelloGetRefusesAFieldOver4KiBWith413) {
    HttpResponse at_limit =
        post_form("/cgi-bin/hello_get", "first_name=" + std::string(4096, 'a') + "&last_name=b");
    EXPECT_EQ(at_limit.status, 200);
    HttpResponse over =
        post_form("/cgi-bin/hello_get", "first_name=" + std::string(4097, 'a') + "&last_name=b");
    EXPECT_EQ(over.status, 413);
    EXPECT_THAT(over.body, Not(HasSubstr(std::string(100, 'a'))));
}

TEST_F(SamplesBasic, HelloGetRefusesABodyOver64KiBWith413) {
    std::string body = "first_name=a&last_name=b&padding=" + std::string(70 * 1024, 'x');
    HttpResponse response = post_form("/cgi-bin/hello_get", body);
    EXPECT_EQ(response.status, 413);
    EXPECT_EQ(response.header("Content-Type"), kHtml);
    // The sample's own page, not the server's (whose limit is far higher).
    EXPECT_THAT(response.body, HasSubstr("The form data is larger than 65536 bytes."));
}

// ---- checkbox, radio, textarea, dropdown ----

TEST_F(SamplesBasic, CheckboxShowsOnlyTheTickedBoxes) {
    HttpResponse response = get("/cgi-bin/checkbox?maths=on&chemistry=on");
    EXPECT_EQ(response.status, 200);
    EXPECT_THAT(response.body, HasSubstr("<li>Maths</li>\n<li>Chemistry</li>"));
    EXPECT_THAT(response.body, Not(HasSubstr("<li>Physics</li>")));
    HttpResponse physics = get("/cgi-bin/checkbox?physics=on");
    EXPECT_THAT(physics.body, HasSubstr("<li>Physics</li>"));
    EXPECT_THAT(physics.body, Not(HasSubstr("<li>Maths</li>")));
}

TEST_F(SamplesBasic, CheckboxSaysSoWhenNoBoxIsTicked) {
    HttpResponse response = get("/cgi-bin/checkbox");
    EXPECT_EQ(response.status, 200);
    EXPECT_THAT(response.body, HasSubstr("You ticked no subjects."));
}

// Issue 12 item 5: a tutorial's form may use either method, so every form sample answers GET,
// a urlencoded POST and a multipart/form-data POST with the same page.
TEST_F(SamplesBasic, EveryFormSampleAnswersGetAndBothKindsOfPostAlike) {
    struct Case {
        std::string program;
        std::vector<std::pair<std::string, std::string>> fields;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {"checkbox", {{"maths", "on"}, {"chemistry", "on"}}, "<li>Maths</li>\n<li>Chemistry</li>"},
        {"radio", {{"subject", "physics"}}, "You chose <strong>physics</strong>."},
        {"dropdown",
         {{"subject", "chemistry"}, {"days", "mon"}, {"days", "thu"}},
         "<li>Monday</li>\n<li>Thursday</li>"},
        {"textarea", {{"message", "one\r\n<b>two</b>"}}, "\none\n&lt;b&gt;two&lt;/b&gt;</pre>"},
        {"hello_get", {{"first_name", "Ada"}, {"last_name", "Lovelace"}}, "Hello, Ada Lovelace!"},
    };
    for (const Case& form : cases) {
        SCOPED_TRACE(form.program);
        const std::string target = "/cgi-bin/" + form.program;
        std::string query;
        for (const auto& [name, value] : form.fields) {
            query += (query.empty() ? "" : "&") + name + '=' + encode_query(value);
        }
        const HttpResponse answers[] = {
            get(target + '?' + query),
            post_form(target, query),
            request("POST", target,
                    {{"Content-Type", std::string("multipart/form-data; boundary=") + kBoundary}},
                    multipart_form(form.fields)),
        };
        for (const HttpResponse& response : answers) {
            EXPECT_EQ(response.status, 200) << response.body;
            EXPECT_EQ(response.header("Content-Type"), kHtml);
            EXPECT_THAT(response.body, HasSubstr(form.expected));
        }
    }
}

TEST_F(SamplesBasic, FormSamplesRefuseMethodsNoFormUsesWith405) {
    for (const char* program : {"checkbox", "radio", "dropdown", "textarea"}) {
        HttpResponse response = request("PUT", std::string("/cgi-bin/") + program,
                                        {{"Content-Type", kForm}}, "subject=maths");
        EXPECT_EQ(response.status, 405) << program;
        EXPECT_EQ(response.header("Allow"), "GET, HEAD, POST") << program;
    }
}

TEST_F(SamplesBasic, RadioShowsTheChosenSubject) {
    HttpResponse response = get("/cgi-bin/radio?subject=physics");
    EXPECT_EQ(response.status, 200);
    EXPECT_THAT(response.body, HasSubstr("You chose <strong>physics</strong>."));
}

TEST_F(SamplesBasic, RadioRefusesNoChoiceOrAValueTheFormNeverOffered) {
    EXPECT_EQ(get("/cgi-bin/radio").status, 400);
    HttpResponse response = get("/cgi-bin/radio?subject=%3Cscript%3Ex");
    EXPECT_EQ(response.status, 400);
    EXPECT_THAT(response.body, HasSubstr("&lt;script&gt;x"));
    EXPECT_THAT(response.body, Not(HasSubstr("<script>")));
}

TEST_F(SamplesBasic, TextareaKeepsLineBreaksAndEscapesMarkup) {
    HttpResponse response =
        post_form("/cgi-bin/textarea", "message=%0D%0Aline+one%0D%0A%3Cb%3Etwo%3C%2Fb%3E%0D%0A");
    EXPECT_EQ(response.status, 200);
    EXPECT_THAT(response.body,
                HasSubstr("<pre class=\"echo\">\n\nline one\n&lt;b&gt;two&lt;/b&gt;\n</pre>"));
    EXPECT_THAT(response.body, HasSubstr("You wrote 3 lines"));
    EXPECT_THAT(response.body, Not(HasSubstr("<b>")));
}

TEST_F(SamplesBasic, TextareaRefusesMissingOrOversizedText) {
    EXPECT_EQ(post_form("/cgi-bin/textarea", "other=1").status, 400);
    EXPECT_EQ(post_form("/cgi-bin/textarea", "message=").status, 400);
    EXPECT_EQ(post_form("/cgi-bin/textarea", "message=" + std::string(5000, 'x')).status, 413);
}

TEST_F(SamplesBasic, DropdownShowsTheSingleAndTheMultipleChoices) {
    HttpResponse response = get("/cgi-bin/dropdown?subject=chemistry&days=mon&days=thu");
    EXPECT_EQ(response.status, 200);
    EXPECT_THAT(response.body, HasSubstr("<strong class=\"chosen\">Chemistry</strong>"));
    EXPECT_THAT(response.body, HasSubstr("<li>Monday</li>\n<li>Thursday</li>"));
    EXPECT_THAT(response.body, Not(HasSubstr("<li>Tuesday</li>")));
    HttpResponse no_days = get("/cgi-bin/dropdown?subject=maths");
    EXPECT_EQ(no_days.status, 200);
    EXPECT_THAT(no_days.body, HasSubstr("You chose no days."));
}

TEST_F(SamplesBasic, DropdownRefusesMissingOrUnofferedChoices) {
    for (const char* query : {"?days=mon", "?subject=biology", "?subject=maths&days=sun",
                              "?subject=maths&days=mon&days=%3Ci%3E"}) {
        HttpResponse response = get(std::string("/cgi-bin/dropdown") + query);
        EXPECT_EQ(response.status, 400) << query;
        EXPECT_THAT(response.body, Not(HasSubstr("<i>"))) << query;
    }
}

// ---- cookies ----

TEST_F(SamplesBasic, CookiesSaveSetsASessionIdAndAColour) {
    HttpResponse response = post_form("/cgi-bin/cookies", "action=save&colour=teal");
    EXPECT_EQ(response.status, 303);
    EXPECT_EQ(response.header("Location"),
              "http://127.0.0.1:" + std::to_string(port()) + "/cgi-bin/cookies");
    EXPECT_EQ(headers_named(response, "Set-Cookie").size(), 2u);
    const std::string expires = "; Expires=[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} 20[0-9]{2} ";
    EXPECT_THAT(set_cookie_for(response, "session_id"),
                MatchesRegex("session_id=" + kSessionIdPattern + "; Path=/; Max-Age=2592000" +
                             expires + "[0-9:]{8} GMT; SameSite=Lax; HttpOnly"));
    EXPECT_THAT(set_cookie_for(response, "colour"),
                MatchesRegex("colour=teal; Path=/; Max-Age=2592000" + expires +
                             "[0-9:]{8} GMT; SameSite=Lax"));
}

TEST_F(SamplesBasic, CookiesComeBackAndAreShownByNameOnly) {
    HttpResponse saved = post_form("/cgi-bin/cookies", "action=save&colour=indigo");
    const std::string id_cookie = cookie_pair(set_cookie_for(saved, "session_id"));
    const std::string colour_cookie = cookie_pair(set_cookie_for(saved, "colour"));
    ASSERT_THAT(id_cookie, MatchesRegex("session_id=" + kSessionIdPattern));
    ASSERT_EQ(colour_cookie, "colour=indigo");

    HttpResponse shown = get("/cgi-bin/cookies", {{"Cookie", id_cookie + "; " + colour_cookie}});
    EXPECT_EQ(shown.status, 200);
    const std::string id = id_cookie.substr(id_cookie.find('=') + 1);
    EXPECT_THAT(shown.body, HasSubstr("Welcome back. This program issued your session id on "));
    EXPECT_THAT(shown.body, HasSubstr("<strong class=\"chosen\">indigo</strong>"));
    // The HttpOnly id never reaches the page, where scripts could read it.
    EXPECT_THAT(shown.body, Not(HasSubstr(id.substr(0, 32))));
    EXPECT_THAT(shown.body, HasSubstr("<code>session_id</code></td><td><code class=\"masked\">"
                                      "(hidden, " +
                                      std::to_string(id.size()) + " bytes)</code>"));
    EXPECT_THAT(shown.body, HasSubstr("<code>colour</code></td><td><code class=\"masked\">"
                                      "(hidden, 6 bytes)</code>"));
}

// Issue 12 item 9, session fixation: an id the client chose, or one issued before, is never
// kept; every save issues a new one, and only ids this program signed are recognised.
TEST_F(SamplesBasic, CookiesIssueANewSessionIdOnEverySaveAndNeverKeepTheClientsOwn) {
    const std::string planted = "0123456789abcdef0123456789abcdef";
    HttpResponse first = post_form("/cgi-bin/cookies", "action=save&colour=amber",
                                   {{"Cookie", "session_id=" + planted}});
    EXPECT_EQ(first.status, 303);
    const std::string first_id = cookie_pair(set_cookie_for(first, "session_id"));
    EXPECT_THAT(first_id, MatchesRegex("session_id=" + kSessionIdPattern));
    EXPECT_THAT(first_id, Not(HasSubstr(planted)));

    HttpResponse second =
        post_form("/cgi-bin/cookies", "action=save&colour=teal", {{"Cookie", first_id}});
    const std::string second_id = cookie_pair(set_cookie_for(second, "session_id"));
    EXPECT_THAT(second_id, MatchesRegex("session_id=" + kSessionIdPattern));
    EXPECT_NE(second_id, first_id);
    EXPECT_THAT(get("/cgi-bin/cookies", {{"Cookie", second_id}}).body, HasSubstr("Welcome back"));
}

TEST_F(SamplesBasic, CookiesIgnoreASessionIdTheyDidNotIssue) {
    HttpResponse saved = post_form("/cgi-bin/cookies", "action=save&colour=teal");
    const std::string id = cookie_pair(set_cookie_for(saved, "session_id"));
    ASSERT_THAT(id, MatchesRegex("session_id=" + kSessionIdPattern));
    const size_t value = std::string("session_id=").size();
    std::string other_random = id;
    other_random[value] = other_random[value] == 'a' ? 'b' : 'a';
    std::string other_time = id;
    other_time[value + 33] = other_time[value + 33] == '1' ? '2' : '1';
    std::string other_signature = id;
    other_signature.back() = other_signature.back() == '0' ? '1' : '0';
    const std::vector<std::string> forgeries = {
        "session_id=0123456789abcdef0123456789abcdef",
        other_random,
        other_time,
        other_signature,
        id + "0",
        "session_id=" + std::string(32, 'a') + ".1." + std::string(64, 'b'),
    };
    for (const std::string& forged : forgeries) {
        SCOPED_TRACE(forged);
        HttpResponse shown = get("/cgi-bin/cookies", {{"Cookie", forged}});
        EXPECT_EQ(shown.status, 200);
        EXPECT_THAT(shown.body, Not(HasSubstr("Welcome back")));
        EXPECT_THAT(shown.body, HasSubstr("did not issue"));
    }
}

TEST_F(SamplesBasic, CookiesWithoutAnyShowTheFormOnly) {
    HttpResponse response = get("/cgi-bin/cookies");
    EXPECT_EQ(response.status, 200);
    EXPECT_FALSE(response.has_header("Set-Cookie"));
    EXPECT_THAT(response.body, HasSubstr("no session id from this program yet"));
    EXPECT_THAT(response.body, HasSubstr("No cookies came with this request."));
    EXPECT_THAT(response.body, HasSubstr("<form method=\"post\" action=\"/cgi-bin/cookies\">"));
}

TEST_F(SamplesBasic, CookiesForgetMeExpiresBoth) {
    HttpResponse response =
        post_form("/cgi-bin/cookies", "action=forget",
                  {{"Cookie", "session_id=0123456789abcdef0123456789abcdef; colour=teal"}});
    EXPECT_EQ(response.status, 303);
    const std::string expired = "; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
    EXPECT_EQ(set_cookie_for(response, "session_id"),
              "session_id=" + expired + "; SameSite=Lax; HttpOnly");
    EXPECT_EQ(set_cookie_for(response, "colour"), "colour=" + expired + "; SameSite=Lax");
}

TEST_F(SamplesBasic, CookiesEscapeWhatTheBrowserSendsBack) {
    HttpResponse response = get(
        "/cgi-bin/cookies", {{"Cookie", "colour=<script>x</script>; session_id=<b>; <i>name=1"}});
    EXPECT_EQ(response.status, 200);
    EXPECT_THAT(response.body, HasSubstr("<code>&lt;i&gt;name</code>"));
    EXPECT_THAT(response.body, Not(HasSubstr("<i>")));
    EXPECT_THAT(response.body, Not(HasSubstr("<script>")));
    EXPECT_THAT(response.body, Not(HasSubstr("<b>")));
    EXPECT_THAT(response.body, Not(HasSubstr("class=\"swatch\"")));  // not a colour of ours
    EXPECT_THAT(response.body, Not(HasSubstr("Welcome back")));      // not an id of ours
}

TEST_F(SamplesBasic, CookiesRefuseBadActionsAndMethods) {
    for (const char* body :
         {"colour=teal", "action=save", "action=save&colour=%3Cx%3E", "action=delete-everything"}) {
        HttpResponse response = post_form("/cgi-bin/cookies", body);
        EXPECT_EQ(response.status, 400) << body;
        EXPECT_FALSE(response.has_header("Set-Cookie")) << body;
        EXPECT_THAT(response.body, Not(HasSubstr("<x>"))) << body;
    }
    HttpResponse put = request("PUT", "/cgi-bin/cookies", {{"Content-Type", kForm}}, "a=b");
    EXPECT_EQ(put.status, 405);
    EXPECT_EQ(put.header("Allow"), "GET, HEAD, POST");
}

// ---- redirect ----

TEST_F(SamplesBasic, RedirectToClientSends302WithAnAbsoluteLocation) {
    HttpResponse response = get("/cgi-bin/redirect?to=client");
    EXPECT_EQ(response.status, 302);
    EXPECT_EQ(response.header("Location"),
              "http://127.0.0.1:" + std::to_string(port()) + "/cgi-bin/hello");
    EXPECT_THAT(response.body, HasSubstr("/cgi-bin/hello"));
}

// The Location is built from user input (the Host header, through SERVER_NAME): a hostile Host
// is refused (400) or left out of SERVER_NAME, and never splits the response (RFC 3875 §4.1.14).
TEST_F(SamplesBasic, RedirectNeverLetsAHostileHostForgeAHeader) {
    for (const char* host : {"evil.example%0d%0aSet-Cookie:+x=1", "evil.example\rSet-Cookie: x=1",
                             "evil.example Set-Cookie: x=1", "evil.example\x0bSet-Cookie: x=1"}) {
        SCOPED_TRACE(host);
        HttpConnection connection(port());
        connection.send_raw(std::string("GET /cgi-bin/redirect?to=client HTTP/1.1\r\nHost: ") +
                            host + "\r\nConnection: close\r\n\r\n");
        auto response = connection.read_response();
        ASSERT_TRUE(response);
        EXPECT_TRUE(response->status == 302 || response->status == 400) << response->status;
        EXPECT_FALSE(response->has_header("Set-Cookie"));
        EXPECT_THAT(response->header("Location"), Not(HasSubstr("Set-Cookie")));
        EXPECT_THAT(response->header("Location"), Not(HasSubstr("evil")));
    }
}

TEST_F(SamplesBasic, RedirectLocallyServesHellosPageInItsPlace) {
    HttpResponse response = get("/cgi-bin/redirect?to=local");
    EXPECT_EQ(response.status, 200);
    EXPECT_FALSE(response.has_header("Location"));
    EXPECT_THAT(response.body, HasSubstr("<h1>Hello, world!</h1>"));
}

TEST_F(SamplesBasic, RedirectWithoutAParameterExplainsBoth) {
    HttpResponse response = get("/cgi-bin/redirect");
    EXPECT_EQ(response.status, 200);
    EXPECT_THAT(response.body, HasSubstr("href=\"/cgi-bin/redirect?to=client\""));
    EXPECT_THAT(response.body, HasSubstr("href=\"/cgi-bin/redirect?to=local\""));
}

TEST_F(SamplesBasic, RedirectRefusesAnUnknownKindAndPost) {
    for (const char* query : {"?to=elsewhere", "?to=", "?to=%3Cscript%3E"}) {
        HttpResponse response = get(std::string("/cgi-bin/redirect") + query);
        EXPECT_EQ(response.status, 400) << query;
        EXPECT_FALSE(response.has_header("Location")) << query;
        EXPECT_THAT(response.body, Not(HasSubstr("<script>"))) << query;
    }
    HttpResponse post = post_form("/cgi-bin/redirect", "to=client");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.header("Allow"), "GET, HEAD");
}

// ---- the same greeting in sh and Python ----

TEST_F(SamplesBasic, ScriptSamplesGreetByNameEscaped) {
    for (const char* script : {"/cgi-bin/hello.sh", "/cgi-bin/hello.py"}) {
        HttpResponse plain = get(std::string(script) + "?name=J%C3%BCrgen+M%C3%BCller");
        EXPECT_EQ(plain.status, 200) << script;
        EXPECT_EQ(plain.header("Content-Type"), kHtml) << script;
        EXPECT_THAT(plain.body, HasSubstr("Hello, J\xC3\xBCrgen M\xC3\xBCller!")) << script;

        HttpResponse attack =
            get(std::string(script) + "?x=1&name=%3Cscript%3Ealert(%27x%27)%3C/script%3E%26");
        EXPECT_EQ(attack.status, 200) << script;
        // sh writes ' as &#39;, Python's html.escape as &#x27;: both are fine.
        EXPECT_THAT(attack.body, HasSubstr("Hello, &lt;script&gt;alert(&#")) << script;
        EXPECT_THAT(attack.body, HasSubstr(";)&lt;/script&gt;&amp;!")) << script;
        EXPECT_THAT(attack.body, Not(HasSubstr("alert('"))) << script;
        EXPECT_THAT(attack.body, Not(HasSubstr("<script>"))) << script;
    }
}

TEST_F(SamplesBasic, ScriptSamplesGreetTheWorldWithoutAName) {
    for (const char* script : {"/cgi-bin/hello.sh", "/cgi-bin/hello.py"}) {
        HttpResponse response = get(script);
        EXPECT_EQ(response.status, 200) << script;
        EXPECT_THAT(response.body, HasSubstr("Hello, world!")) << script;
    }
}

}  // namespace
}  // namespace cgihost::testing
