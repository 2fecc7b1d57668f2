// Static files served by the real binary: content, types, validators, ranges, directories,
// path safety, and memory use while a large file is sent.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "sha256.hpp"
#include "test_server.hpp"

namespace cgihost::testing {
namespace {

constexpr const char* kSecret = "TOP-SECRET-6b1f0c";  // lives next to the docroot, never served

std::vector<std::string> server_args(const TempDir& root) {
    std::vector<std::string> args{"--docroot", (root / "www").string()};
    args.insert(args.end(), {"--cgi-dir", (root / "cgi-bin").string()});
    // An empty mime.types file keeps the types independent of the machine's /etc/mime.types.
    args.insert(args.end(), {"--mime-types", "/dev/null"});
    return args;
}

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class StaticFiles : public ::testing::Test {
  protected:
    void SetUp() override {
        root_.write_file("www/index.html", "<h1>home</h1>\n");
        root_.write_file("www/style.css", "body{}\n");
        root_.write_file("www/app.js", "let a = 1;\n");
        root_.write_file("www/data.json", "{}\n");
        root_.write_file("www/image.png", std::string("\x89PNG\r\n\x1a\n\0\0", 10));
        root_.write_file("www/logo.svg", "<svg/>\n");
        root_.write_file("www/blob.qqzzy", "??");
        root_.write_file("www/noextension", "plain");
        root_.write_file("www/docs/readme.txt", "0123456789abcdefghij");
        root_.write_file("www/docs/.hidden", "hidden");
        root_.write_file("www/.env", "PASSWORD=hunter2");
        root_.write_file("www/.git/config", "[core]");
        root_.write_file("www/my dir/index.html", "spaced");
        root_.write_file("secret.txt", kSecret);
        std::filesystem::create_directories(root_ / "www/empty-dir");
        std::filesystem::create_symlink("../secret.txt", root_ / "www/escape.txt");
        std::filesystem::create_symlink(root_.path(), root_ / "www/outside");
        std::filesystem::create_symlink("docs/readme.txt", root_ / "www/inside-link.txt");
        server_ = std::make_unique<TestServer>(server_args(root_));
    }

    std::optional<HttpResponse> get(const std::string& target, const HeaderList& headers = {}) {
        return http_get(server_->port(), target, headers);
    }

    TempDir root_;
    std::unique_ptr<TestServer> server_;
};

TEST_F(StaticFiles, ServesTheIndexFileForTheRoot) {
    auto response = get("/");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "<h1>home</h1>\n");
    EXPECT_EQ(response->header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(response->header("Server"), "cgihost/0.1.0");
}

TEST_F(StaticFiles, SendsTheContentTypeOfEachExtensionWithCharsetForText) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"/index.html", "text/html; charset=utf-8"},
        {"/style.css", "text/css; charset=utf-8"},
        {"/app.js", "text/javascript; charset=utf-8"},
        {"/data.json", "application/json; charset=utf-8"},
        {"/image.png", "image/png"},
        {"/logo.svg", "image/svg+xml; charset=utf-8"},
        {"/docs/readme.txt", "text/plain; charset=utf-8"},
        {"/blob.qqzzy", "application/octet-stream"},
        {"/noextension", "application/octet-stream"},
    };
    for (const auto& [target, type] : cases) {
        auto response = get(target);
        ASSERT_TRUE(response) << target;
        EXPECT_EQ(response->status, 200) << target;
        EXPECT_EQ(response->header("Content-Type"), type) << target;
        EXPECT_EQ(response->header_count("Content-Type"), 1u) << target;
    }
}

TEST_F(StaticFiles, SendsBinaryFilesByteForByte) {
    auto response = get("/image.png");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, std::string("\x89PNG\r\n\x1a\n\0\0", 10));
    EXPECT_EQ(response->header("Content-Length"), "10");
}

TEST_F(StaticFiles, AnswersHeadWithTheHeadersOfGetAndNoBody) {
    HttpConnection connection(server_->port());
    for (const char* target : {"/style.css", "/missing.txt"}) {
        SCOPED_TRACE(target);
        auto head = connection.request("HEAD", target);
        auto get = connection.request("GET", target);  // would misparse if HEAD had sent a body
        ASSERT_TRUE(head);
        ASSERT_TRUE(get);
        EXPECT_EQ(head->status, get->status);
        EXPECT_EQ(head->body, "");
        EXPECT_FALSE(get->body.empty());
        EXPECT_EQ(head->header("Content-Length"), std::to_string(get->body.size()));
        for (const char* name : {"Content-Length", "Content-Type", "ETag", "Last-Modified",
                                 "Accept-Ranges", "Server"}) {
            EXPECT_EQ(head->header(name), get->header(name)) << name;
            EXPECT_EQ(head->header_count(name), get->header_count(name)) << name;
        }
    }
}

TEST_F(StaticFiles, AnswersAMissingFileWith404) {
    for (const char* target : {"/missing.txt", "/docs/missing/", "/docs/readme.txt/more"}) {
        auto response = get(target);
        ASSERT_TRUE(response) << target;
        EXPECT_EQ(response->status, 404) << target;
    }
}

TEST_F(StaticFiles, SendsSmallHtmlErrorPagesThatRevealNoPath) {
    auto response = get("/missing.txt");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 404);
    EXPECT_EQ(response->header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_NE(response->body.find("404 Not Found"), std::string::npos) << response->body;
    EXPECT_LT(response->body.size(), 1024u);
    EXPECT_EQ(response->header("Content-Length"), std::to_string(response->body.size()));
    EXPECT_EQ(response->body.find(root_.path().string()), std::string::npos) << response->body;
}

TEST_F(StaticFiles, HidesDotfilesWith404) {
    for (const char* target :
         {"/.env", "/.git/config", "/.git/", "/docs/.hidden", "/%2eenv", "/.git/../.env"}) {
        auto response = get(target);
        ASSERT_TRUE(response) << target;
        EXPECT_EQ(response->status, 404) << target;
        EXPECT_EQ(response->body.find("hunter2"), std::string::npos) << target;
    }
}

TEST_F(StaticFiles, NeverServesAFileOutsideTheDocroot) {
    const std::vector<std::string> attacks = {
        "/../secret.txt",
        "/../../secret.txt",
        "/..",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e./secret.txt",
        "/./../secret.txt",
        "//../secret.txt",
        "/docs/../../secret.txt",
        "/docs/%2e%2e/%2e%2e/secret.txt",
        "/a/%2f../secret.txt",
        "/%2f../secret.txt",
        "/..%2fsecret.txt",
        "/docs/..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/docs\\..\\..\\secret.txt",
        "/%00/../secret.txt",
        "/../secret.txt%00",
        "/../secret.txt%00.html",
        "/%252e%252e/secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/..;/secret.txt",
        "/outside/secret.txt",
        "/escape.txt",
        "http://127.0.0.1/../secret.txt",
    };
    for (const auto& target : attacks) {
        auto response = get(target);
        ASSERT_TRUE(response) << target;
        EXPECT_TRUE(response->status == 400 || response->status == 403 || response->status == 404)
            << target << " -> " << response->status;
        EXPECT_EQ(response->body.find(kSecret), std::string::npos) << target;
    }
}

TEST_F(StaticFiles, AnswersASymlinkLeavingTheDocrootWith403) {
    for (const char* target : {"/escape.txt", "/outside/secret.txt"}) {
        auto response = get(target);
        ASSERT_TRUE(response) << target;
        EXPECT_EQ(response->status, 403) << target;
        EXPECT_EQ(response->body.find(kSecret), std::string::npos) << target;
    }
}

TEST_F(StaticFiles, FollowsASymlinkThatStaysInsideTheDocroot) {
    auto response = get("/inside-link.txt");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "0123456789abcdefghij");
}

TEST_F(StaticFiles, RedirectsADirectoryToItsSlashKeepingTheQuery) {
    auto response = get("/docs?q=1");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 301);
    EXPECT_EQ(response->header("Location"), "/docs/?q=1");
    EXPECT_EQ(response->header("Content-Type"), "text/html; charset=utf-8");

    auto plain = get("/docs");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->header("Location"), "/docs/");
}

TEST_F(StaticFiles, RedirectKeepsThePathEncoded) {
    auto response = get("/my%20dir");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 301);
    EXPECT_EQ(response->header("Location"), "/my%20dir/");
    auto followed = get(response->header("Location"));
    ASSERT_TRUE(followed);
    EXPECT_EQ(followed->body, "spaced");
}

TEST_F(StaticFiles, AnswersADirectoryWithoutIndexWith403) {
    for (const char* target : {"/empty-dir/", "/docs/"}) {
        auto response = get(target);
        ASSERT_TRUE(response) << target;
        EXPECT_EQ(response->status, 403) << target;
        EXPECT_EQ(response->body.find("readme.txt"), std::string::npos);
    }
}

TEST_F(StaticFiles, ListsADirectoryWithEscapedNamesWhenListingIsOn) {
    root_.write_file("www/docs/a<b>&\"c.txt", "x");
    auto args = server_args(root_);
    args.insert(args.end(), {"--directory-listing", "true"});
    TestServer listing(args);
    auto response = http_get(listing.port(), "/docs/");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->header("Content-Type"), "text/html; charset=utf-8");
    const std::string& body = response->body;
    EXPECT_NE(body.find(">readme.txt<"), std::string::npos) << body;
    EXPECT_NE(body.find("a&lt;b&gt;&amp;&quot;c.txt"), std::string::npos) << body;
    EXPECT_EQ(body.find("<b>"), std::string::npos) << body;
    EXPECT_EQ(body.find(".hidden"), std::string::npos) << body;
    auto empty = http_get(listing.port(), "/empty-dir/");
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->status, 200);
}

TEST_F(StaticFiles, AnswersAMatchingIfNoneMatchWith304) {
    HttpConnection connection(server_->port());
    auto first = connection.request("GET", "/style.css");
    ASSERT_TRUE(first);
    std::string etag = first->header("ETag");
    ASSERT_FALSE(etag.empty());
    auto again = connection.request("GET", "/style.css", {{"If-None-Match", etag}});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 304);
    EXPECT_EQ(again->body, "");
    EXPECT_EQ(again->header("ETag"), etag);
    auto other = connection.request("GET", "/style.css", {{"If-None-Match", "\"other\""}});
    ASSERT_TRUE(other);  // parses only if the 304 carried no body
    EXPECT_EQ(other->status, 200);
    EXPECT_EQ(other->body, "body{}\n");
}

TEST_F(StaticFiles, AnswersIfModifiedSinceWith304) {
    auto first = get("/style.css");
    ASSERT_TRUE(first);
    std::string last_modified = first->header("Last-Modified");
    ASSERT_FALSE(last_modified.empty());
    auto again = get("/style.css", {{"If-Modified-Since", last_modified}});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 304);
    auto old = get("/style.css", {{"If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT"}});
    ASSERT_TRUE(old);
    EXPECT_EQ(old->status, 200);
}

TEST_F(StaticFiles, AnswersARangeWith206AndContentRange) {
    auto response = get("/docs/readme.txt", {{"Range", "bytes=2-5"}});
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 206);
    EXPECT_EQ(response->body, "2345");
    EXPECT_EQ(response->header("Content-Range"), "bytes 2-5/20");
    EXPECT_EQ(response->header("Content-Length"), "4");
}

// Small files are copied into the response, larger ones go out with sendfile(2): both ways,
// and for ranges that start inside the file, the bytes must be exactly the file's.
TEST_F(StaticFiles, SendsFilesAndRangesOnBothSidesOfTheInlineLimitByteForByte) {
    std::string content(200'000, '\0');
    for (size_t i = 0; i < content.size(); ++i)
        content[i] = static_cast<char>((i * 131 + i / 251) & 0xff);
    for (size_t size :
         {size_t{1}, size_t{65'535}, size_t{65'536}, size_t{65'537}, size_t{200'000}}) {
        std::string name = "/sized-" + std::to_string(size) + ".bin";
        root_.write_file("www" + name, content.substr(0, size));
        auto response = get(name);
        ASSERT_TRUE(response) << name;
        EXPECT_EQ(response->header("Content-Length"), std::to_string(size)) << name;
        EXPECT_TRUE(response->body == content.substr(0, size)) << name;
    }
    for (auto [first, last] :
         {std::pair<size_t, size_t>{10, 20}, {1'000, 70'000}, {199'990, 199'999}}) {
        std::string range = "bytes=" + std::to_string(first) + "-" + std::to_string(last);
        auto response = get("/sized-200000.bin", {{"Range", range}});
        ASSERT_TRUE(response) << range;
        EXPECT_EQ(response->status, 206) << range;
        EXPECT_TRUE(response->body == content.substr(first, last - first + 1)) << range;
    }
}

TEST_F(StaticFiles, AnswersAnUnsatisfiableRangeWith416) {
    auto response = get("/docs/readme.txt", {{"Range", "bytes=20-30"}});
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 416);
    EXPECT_EQ(response->header("Content-Range"), "bytes */20");
}

TEST_F(StaticFiles, SendsTheWholeFileForSeveralRanges) {
    auto response = get("/docs/readme.txt", {{"Range", "bytes=0-1,4-5"}});
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "0123456789abcdefghij");
    EXPECT_FALSE(response->has_header("Content-Range"));
}

TEST_F(StaticFiles, AdvertisesByteRanges) {
    auto response = get("/docs/readme.txt");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->header("Accept-Ranges"), "bytes");
}

TEST_F(StaticFiles, RefusesPostOnAStaticFileWith405AndAllow) {
    HttpConnection connection(server_->port());
    auto response = connection.request("POST", "/index.html", {}, "name=value");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 405);
    EXPECT_EQ(response->header("Allow"), "GET, HEAD");
    // The body was consumed: the connection still carries the next request.
    auto next = connection.request("GET", "/index.html");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 200);
}

// ---- the file cache and the quick path (files/file_cache.hpp, http/quick_response.hpp) ----

// The cache keeps only files unchanged for a second; a test waits that out to see it used.
void let_files_settle() {
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
}

// A response as the client sees it, less the Date field's value, fields in sorted order.
std::string without_date(const HttpResponse& response) {
    std::vector<std::string> fields;
    for (const auto& [name, value] : response.headers) {
        if (name != "Date") fields.push_back(name + ": " + value);
    }
    std::sort(fields.begin(), fields.end());
    std::string text =
        response.version + " " + std::to_string(response.status) + " " + response.reason + "\n";
    for (const std::string& field : fields)
        text += field + "\n";
    return text + "\n" + response.body;
}

// "Connection: keep-alive" keeps a request on evhttp's path; without it, a small cached file is
// answered by the intake. The client must not be able to tell the two apart.
TEST_F(StaticFiles, AnswersFromMemoryExactlyAsThroughEvhttp) {
    root_.write_file("www/small.txt", "a small file\n");
    let_files_settle();
    HttpConnection connection(server_->port());
    for (const std::string method : {"GET", "HEAD", "GET"}) {
        connection.send_raw(method +
                            " /small.txt HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n");
        auto evhttp = connection.read_response(method == "HEAD");
        connection.send_raw(method + " /small.txt HTTP/1.1\r\nHost: t\r\n\r\n");
        auto quick = connection.read_response(method == "HEAD");
        ASSERT_TRUE(evhttp && quick);
        EXPECT_EQ(quick->status, 200);
        EXPECT_TRUE(quick->has_header("Date"));
        EXPECT_EQ(quick->header_count("Content-Length"), 1u);
        EXPECT_EQ(without_date(*quick), without_date(*evhttp)) << method;
    }
    EXPECT_FALSE(connection.closed_by_peer());
}

TEST_F(StaticFiles, NeverServesAChangedFileFromMemory) {
    root_.write_file("www/changing.txt", "version 1");
    let_files_settle();
    HttpConnection connection(server_->port());
    for (int i = 0; i < 3; ++i) {  // the first fills the cache, the others come from it
        auto response = connection.request("GET", "/changing.txt");
        ASSERT_TRUE(response);
        EXPECT_EQ(response->body, "version 1");
    }
    root_.write_file("www/changing.txt", "version 2");  // same size, same inode
    for (int i = 0; i < 2; ++i) {
        auto response = connection.request("GET", "/changing.txt");
        ASSERT_TRUE(response);
        EXPECT_EQ(response->body, "version 2");
    }
    let_files_settle();
    (void)connection.request("GET", "/changing.txt");  // cached again
    std::filesystem::remove(root_ / "www/changing.txt");
    auto gone = connection.request("GET", "/changing.txt");
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->status, 404);
    std::filesystem::create_directories(root_ / "www/changing.txt");  // now a directory
    auto directory = connection.request("GET", "/changing.txt");
    ASSERT_TRUE(directory);
    EXPECT_EQ(directory->status, 301);
}

// --file-check-interval trades freshness for the path walk per request, as lighttpd's stat
// cache does: within the interval a changed file is still answered from memory, by the quick
// path and by evhttp's alike; once it has passed, the change shows.
TEST_F(StaticFiles, TrustsACheckForTheFileCheckIntervalAndNoLonger) {
    root_.write_file("www/trusted.txt", "version 1");
    root_.write_file("www/expiring.txt", "version 1");
    let_files_settle();
    auto long_args = server_args(root_);
    long_args.insert(long_args.end(), {"--file-check-interval", "60"});
    TestServer trusting(long_args);
    auto short_args = server_args(root_);
    short_args.insert(short_args.end(), {"--file-check-interval", "0.5"});
    TestServer expiring(short_args);
    HttpConnection connection(trusting.port());
    HttpConnection other(expiring.port());
    ASSERT_TRUE(connection.request("GET", "/trusted.txt"));  // remembered
    ASSERT_TRUE(other.request("GET", "/expiring.txt"));
    root_.write_file("www/trusted.txt", "version 2");
    root_.write_file("www/expiring.txt", "version 2");
    for (const char* keep_alive : {"", "Connection: keep-alive\r\n"}) {
        connection.send_raw(std::string("GET /trusted.txt HTTP/1.1\r\nHost: t\r\n") + keep_alive +
                            "\r\n");
        auto stale = connection.read_response();
        ASSERT_TRUE(stale);
        EXPECT_EQ(stale->body, "version 1") << "within the interval, with '" << keep_alive << "'";
    }
    EXPECT_TRUE(wait_until([&] {
        auto response = other.request("GET", "/expiring.txt");
        return response && response->body == "version 2";
    })) << "the change never showed after the interval";
}

// The file a URL led to may be unchanged while the way to it changed: a release symlink
// switched, a link removed, a directory moved out of the docroot and linked back.
TEST_F(StaticFiles, FollowsAChangedPathNotTheFileItOnceLedTo) {
    root_.write_file("www/rel1/a.txt", "release 1");
    root_.write_file("www/rel2/a.txt", "release 2");
    root_.write_file("www/sub/f.txt", "inside");
    std::filesystem::create_symlink("rel1", root_ / "www/current");
    let_files_settle();
    HttpConnection connection(server_->port());
    for (int i = 0; i < 2; ++i) {  // the first fills the cache, the second comes from it
        auto current = connection.request("GET", "/current/a.txt");
        ASSERT_TRUE(current);
        EXPECT_EQ(current->body, "release 1");
        ASSERT_TRUE(connection.request("GET", "/inside-link.txt"));
        ASSERT_TRUE(connection.request("GET", "/sub/f.txt"));
    }
    std::filesystem::remove(root_ / "www/current");
    std::filesystem::create_symlink("rel2", root_ / "www/current");
    auto switched = connection.request("GET", "/current/a.txt");
    ASSERT_TRUE(switched);
    EXPECT_EQ(switched->body, "release 2");
    std::filesystem::remove(root_ / "www/inside-link.txt");
    auto unlinked = connection.request("GET", "/inside-link.txt");
    ASSERT_TRUE(unlinked);
    EXPECT_EQ(unlinked->status, 404);
    std::filesystem::rename(root_ / "www/sub", root_ / "moved-out");
    std::filesystem::create_symlink(root_ / "moved-out", root_ / "www/sub");
    auto escaped = connection.request("GET", "/sub/f.txt");
    ASSERT_TRUE(escaped);
    EXPECT_EQ(escaped->status, 403);
}

// Requests sent together are answered in order, whichever path answers each, and the
// conditional, refused and missing ones in between get their own answers.
TEST_F(StaticFiles, AnswersPipelinedRequestsInOrderWhicheverPathAnswers) {
    root_.write_file("www/a.txt", "AAAA");
    root_.write_file("www/b.txt", "BB");
    let_files_settle();
    auto first = get("/a.txt");
    ASSERT_TRUE(first);
    ASSERT_TRUE(get("/b.txt"));
    const std::string etag = first->header("ETag");
    HttpConnection connection(server_->port());
    connection.send_raw(
        "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n"
        "HEAD /b.txt HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /b.txt HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /missing.txt HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /a.txt HTTP/1.1\r\nHost: t\r\nIf-None-Match: " +
        etag +
        "\r\n\r\n"
        "POST /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz"
        "GET /a.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=1-2\r\n\r\n"
        "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    const std::vector<std::pair<int, std::string>> expected = {
        {200, "AAAA"}, {200, ""}, {200, "BB"}, {404, ""},
        {304, ""},     {405, ""}, {206, "AA"}, {200, "AAAA"}};
    for (size_t i = 0; i < expected.size(); ++i) {
        auto response = connection.read_response(i == 1);
        ASSERT_TRUE(response) << i;
        EXPECT_EQ(response->status, expected[i].first) << i;
        if (!expected[i].second.empty()) {
            EXPECT_EQ(response->body, expected[i].second) << i;
        }
    }
}

// A client that sends many requests before reading any answer gets every answer, in order;
// once its answers back up, the rest take evhttp's path, which reads no further meanwhile.
TEST_F(StaticFiles, AnswersAThousandPipelinedRequestsToAClientThatReadsLate) {
    root_.write_file("www/page.txt", std::string(4096, 'p'));
    let_files_settle();
    ASSERT_TRUE(get("/page.txt"));
    HttpConnection connection(server_->port());
    std::string requests;
    for (int i = 0; i < 1000; ++i)
        requests += "GET /page.txt HTTP/1.1\r\nHost: t\r\n\r\n";
    connection.send_raw(requests);
    for (int i = 0; i < 1000; ++i) {
        auto response = connection.read_response();
        ASSERT_TRUE(response) << i;
        ASSERT_EQ(response->status, 200) << i;
        ASSERT_EQ(response->body.size(), 4096u) << i;
    }
}

// Bytes the kernel holds for the server's end of a loopback connection (its send queue, from
// /proc/net/tcp), found by the two ports; nullopt when the row is not there.
std::optional<size_t> server_send_queue(uint16_t server_port, uint16_t client_port) {
    std::ifstream table("/proc/net/tcp");
    std::string line;
    std::getline(table, line);  // the column names
    while (std::getline(table, line)) {
        unsigned local_port = 0;
        unsigned remote_port = 0;
        unsigned long tx_queue = 0;
        if (std::sscanf(line.c_str(), " %*d: %*8x:%4x %*8x:%4x %*2x %8lx:", &local_port,
                        &remote_port, &tx_queue) == 3 &&
            local_port == server_port && remote_port == client_port) {
            return static_cast<size_t>(tx_queue);
        }
    }
    return std::nullopt;
}

// A quick answer that the socket cannot take at once waits in the socket's buffer. To get one,
// a client reads nothing and asks for a remembered 60,000-byte file again and again, until the
// kernel (the server's send queue and the client's receive queue) holds less than all the
// answers so far: the last one is partly in the server's own buffer, and no request follows.
class AnswersFromMemoryToASlowReader : public StaticFiles {
  protected:
    static constexpr size_t kWide = 60000;  // small enough to be answered from memory

    void start_with(const std::vector<std::string>& extra) {
        std::vector<std::string> args = server_args(root_);
        args.insert(args.end(), extra.begin(), extra.end());
        server_ = std::make_unique<TestServer>(args);
        root_.write_file("www/wide.txt", std::string(kWide, 'w'));
        let_files_settle();
        ASSERT_TRUE(get("/wide.txt"));  // now remembered: the next GET is answered from memory
        connection_ = std::make_unique<HttpConnection>(server_->port());
        sockaddr_in local{};
        socklen_t length = sizeof local;
        ASSERT_EQ(::getsockname(connection_->fd(), reinterpret_cast<sockaddr*>(&local), &length),
                  0);
        client_port_ = ntohs(local.sin_port);
        // One answer read whole gives its size on the wire.
        connection_->send_raw(kRequest);
        auto first = connection_->read_response();
        ASSERT_TRUE(first && first->status == 200);
        answer_size_ =
            first->version.size() + 5 + first->reason.size() + 2 + 2 + first->body.size();
        for (const auto& [name, value] : first->headers)
            answer_size_ += name.size() + 2 + value.size() + 2;
    }

    // Asks until an answer is left partly unsent; the number of answers asked for.
    size_t fill_until_an_answer_waits() {
        for (size_t asked = 1; asked <= 200; ++asked) {
            connection_->send_raw(kRequest);
            // Short of the answers so far, and still short a while later (a server slow to
            // answer under load is not a waiting answer).
            if (kernel_holds_less_than(asked * answer_size_, std::chrono::milliseconds(50)) &&
                kernel_holds_less_than(asked * answer_size_, std::chrono::milliseconds(500))) {
                return asked;
            }
        }
        return 0;
    }

    bool kernel_holds_less_than(size_t bytes, std::chrono::milliseconds after) const {
        std::this_thread::sleep_for(after);
        std::optional<size_t> queued = server_send_queue(server_->port(), client_port_);
        int received = 0;
        ::ioctl(connection_->fd(), FIONREAD, &received);
        return queued && *queued + static_cast<size_t>(received) < bytes;
    }

    static constexpr const char* kRequest = "GET /wide.txt HTTP/1.1\r\nHost: t\r\n\r\n";
    std::unique_ptr<HttpConnection> connection_;
    uint16_t client_port_ = 0;
    size_t answer_size_ = 0;
};

// The keep-alive timeout running out while that answer waits must not cut it: the connection
// is answering, not idle (the old code closed it and the client got part of the answer).
TEST_F(AnswersFromMemoryToASlowReader, FinishesTheAnswerThoughTheKeepAliveTimeoutPasses) {
    start_with({"--keep-alive-timeout", "1"});
    const size_t asked = fill_until_an_answer_waits();
    ASSERT_GT(asked, 0u) << "the kernel took every answer";
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // past the keep-alive timeout
    for (size_t i = 0; i < asked; ++i) {
        auto answer = connection_->read_response(false, kHangGuard);
        ASSERT_TRUE(answer) << "answer " << i + 1 << " of " << asked << " was cut";
        EXPECT_EQ(answer->body.size(), kWide);
    }
    // Once it is out, the connection serves the next request as before.
    connection_->send_raw(kRequest);
    auto again = connection_->read_response(false, kHangGuard);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->body.size(), kWide);
}

// A server told to stop lets such an answer finish within its grace period, as it does a
// request still being answered.
TEST_F(AnswersFromMemoryToASlowReader, FinishesTheAnswerWhenTheServerStops) {
    start_with({"--shutdown-grace", "30"});
    const size_t asked = fill_until_an_answer_waits();
    ASSERT_GT(asked, 0u) << "the kernel took every answer";
    ASSERT_EQ(::kill(server_->pid(), SIGTERM), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // the loop may end meanwhile
    for (size_t i = 0; i < asked; ++i) {
        auto answer = connection_->read_response(false, kHangGuard);
        ASSERT_TRUE(answer) << "answer " << i + 1 << " of " << asked << " was cut";
        EXPECT_EQ(answer->body.size(), kWide);
    }
}

// A client that then takes none of it is dropped at the write timeout, not held forever.
TEST_F(AnswersFromMemoryToASlowReader, DropsAClientThatTakesNoneOfItAtTheWriteTimeout) {
    start_with({"--keep-alive-timeout", "1", "--write-timeout", "1"});
    const size_t asked = fill_until_an_answer_waits();
    ASSERT_GT(asked, 0u) << "the kernel took every answer";
    EXPECT_TRUE(wait_until([&] {
        return server_->error_log().find("took none of its answer for the write timeout") !=
               std::string::npos;
    }));
    size_t whole = 0;
    while (connection_->read_response(false, kHangGuard))
        ++whole;
    EXPECT_LT(whole, asked) << "the last answer was cut, and the connection closed";
}

// ---- a large file: right bytes, bounded memory ----

constexpr uint64_t kBigSize = 64ull * 1024 * 1024;

// A sparse file with a few distinct blocks, so a misplaced byte changes the digest.
void write_sparse_file(const std::filesystem::path& path, uint64_t size) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
    for (uint64_t offset : {uint64_t{0}, uint64_t{1048579}, size / 2, size - 100}) {
        std::string block = "block at " + std::to_string(offset) + ";";
        ASSERT_GT(::pwrite(fd, block.data(), block.size(), static_cast<off_t>(offset)), 0);
    }
    ::close(fd);
}

std::string sha256_of_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> buffer(1 << 20);
    Sha256 hasher;
    while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
        hasher.update(std::string_view(buffer.data(), static_cast<size_t>(in.gcount())));
    }
    return hasher.finish_hex();
}

// VmRSS of a process in KiB.
long resident_kib(pid_t pid) {
    return static_cast<long>(resident_bytes(pid) / 1024);
}

struct Download {
    std::string head;
    uint64_t body_bytes = 0;
    std::string sha256;
    long rss_growth_kib = 0;  // the server's largest VmRSS while sending, minus before
};

// GETs `target` and hashes the body as it streams instead of buffering it, sampling the
// server's VmRSS every MiB.
Download download(const TestServer& server, const std::string& target) {
    Download result;
    const long before = resident_kib(server.pid());
    long peak = before;
    HttpConnection connection(server.port());
    connection.send_raw("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n");
    std::string received;
    std::vector<char> chunk(1 << 16);
    Sha256 hasher;
    uint64_t content_length = 0;
    uint64_t next_sample = 0;
    for (;;) {
        pollfd pfd{connection.fd(), POLLIN, 0};
        if (::poll(&pfd, 1, 10000) <= 0) break;
        ssize_t n = ::recv(connection.fd(), chunk.data(), chunk.size(), 0);
        if (n <= 0) break;
        std::string_view data(chunk.data(), static_cast<size_t>(n));
        if (result.head.empty()) {
            received.append(data);
            size_t head_end = received.find("\r\n\r\n");
            if (head_end == std::string::npos) continue;
            result.head = received.substr(0, head_end + 4);
            auto length_at = result.head.find("Content-Length: ");
            if (length_at != std::string::npos) {
                content_length = std::strtoull(result.head.c_str() + length_at + 16, nullptr, 10);
            }
            data = std::string_view(received).substr(head_end + 4);
        }
        hasher.update(data);
        result.body_bytes += data.size();
        if (result.body_bytes >= next_sample) {
            peak = std::max(peak, resident_kib(server.pid()));
            next_sample += 1024 * 1024;
        }
        if (!result.head.empty() && result.body_bytes >= content_length) break;
    }
    result.sha256 = hasher.finish_hex();
    result.rss_growth_kib = peak - before;
    return result;
}

TEST_F(StaticFiles, DownloadsA64MiBFileIntact) {
    write_sparse_file(root_ / "www/big.bin", kBigSize);
    Download result = download(*server_, "/big.bin");
    EXPECT_EQ(result.head.rfind("HTTP/1.1 200", 0), 0u) << result.head;
    EXPECT_NE(result.head.find("Content-Length: " + std::to_string(kBigSize) + "\r\n"),
              std::string::npos)
        << result.head;
    EXPECT_EQ(result.body_bytes, kBigSize);
    EXPECT_EQ(result.sha256, sha256_of_file(root_ / "www/big.bin"));
}

// A regression test: libevent maps a file whole unless its buffer is flagged to drain to a
// descriptor, which made RSS grow by the file's size (64 MiB here) while it was sent.
TEST_F(StaticFiles, SendsA64MiBFileWithoutHoldingItInMemory) {
    write_sparse_file(root_ / "www/big.bin", kBigSize);
    Download result = download(*server_, "/big.bin");
    EXPECT_EQ(result.body_bytes, kBigSize);
    EXPECT_LT(result.rss_growth_kib, 32 * 1024) << "VmRSS grew by " << result.rss_growth_kib
                                                << " KiB while sending " << kBigSize << " bytes";
}

}  // namespace
}  // namespace cgihost::testing
