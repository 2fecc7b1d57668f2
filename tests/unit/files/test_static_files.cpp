#include "files/static_files.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "http/http_conditional.hpp"

namespace cgihost {
namespace {

namespace fs = std::filesystem;

// 2023-11-14 22:13:20 UTC, the mtime given to every test file.
constexpr int64_t kMtime = 1700000000;
constexpr const char* kMtimeHttpDate = "Tue, 14 Nov 2023 22:13:20 GMT";
constexpr const char* kContent = "0123456789abcdefghij";  // 20 bytes

// ---- encode_url_path ----

TEST(EncodeUrlPath, EncodesEachSegmentAndKeepsTheSlashes) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", ""},
        {"/", "/"},
        {"/a/b/", "/a/b/"},
        {"/a b/c", "/a%20b/c"},
        {"/caf\xc3\xa9", "/caf%C3%A9"},
        {"/a?b#c", "/a%3Fb%23c"},
        {"/100%", "/100%25"},
        {"/a\"b<c>", "/a%22b%3Cc%3E"},
        {"/tab\there", "/tab%09here"},
        {"/back\\slash", "/back%5Cslash"},
        {"/keep-._~!$&()*+,;=:@", "/keep-._~!$&()*+,;=:@"},
        {"//x", "//x"},
    };
    for (const auto& [decoded, encoded] : cases) {
        EXPECT_EQ(encode_url_path(decoded), encoded) << decoded;
    }
}

// ---- serve_static_target on a temporary document tree ----

class ServeStaticTarget : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "cgihost-static-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root_ = pattern;
        file_ = write("docs/readme.txt", kContent);
        write("docs/a.txt", "a");
        write("docs/<b>&.txt", "b");
        write("docs/.secret", "s");
        fs::create_directory(root_ / "docs" / "sub");
    }
    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(root_, ignored);
    }

    std::string write(const std::string& relative, const std::string& content) {
        fs::path path = root_ / relative;
        fs::create_directories(path.parent_path());
        std::ofstream(path, std::ios::binary) << content;
        timespec times[2] = {{kMtime, 0}, {kMtime, 0}};
        ::utimensat(AT_FDCWD, path.c_str(), times, 0);
        return path.string();
    }

    static Request get(HeaderList headers = {}, std::string method = "GET") {
        Request request;
        request.method = std::move(method);
        request.target = "/docs/readme.txt";
        request.path = request.target;
        request.headers = std::move(headers);
        request.headers.emplace_back("Host", "example.org");
        return request;
    }

    static Target file_target(const std::string& path) {
        Target target;
        target.kind = TargetKind::static_file;
        target.file_path = path;
        target.url_path = "/docs/readme.txt";
        return target;
    }

    Target directory_target(TargetKind kind, std::string url_path) {
        Target target;
        target.kind = kind;
        target.file_path = (root_ / "docs").string();
        target.url_path = std::move(url_path);
        return target;
    }

    Response serve(const Request& request, const Target& target, bool listing = false) {
        return serve_static_target(request, target, mime_, StaticFileOptions{listing});
    }
    Response serve_file(HeaderList headers = {}, std::string method = "GET") {
        return serve(get(std::move(headers), std::move(method)), file_target(file_));
    }

    // The bytes the response would send from its file.
    static std::string file_bytes(const Response& response) {
        if (response.shared) {
            return response.shared->bytes->substr(response.shared->offset, response.shared->length);
        }
        if (!response.file) return "<no file>";
        std::string bytes(response.file->length, '\0');
        ssize_t n = ::pread(response.file->fd.get(), bytes.data(), bytes.size(),
                            static_cast<off_t>(response.file->offset));
        if (n < 0) return "<read error>";
        bytes.resize(static_cast<size_t>(n));
        return bytes;
    }

    static std::string header(const Response& response, std::string_view name) {
        const std::string* value = find_header(response.headers, name);
        return value != nullptr ? *value : "<absent>";
    }

    fs::path root_;
    std::string file_;
    MimeTypes mime_ = MimeTypes::with_builtin_defaults();
};

TEST_F(ServeStaticTarget, SendsTheWholeFileWithValidatorsAndType) {
    Response response = serve_file();
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(file_bytes(response), kContent);
    EXPECT_EQ(response.body_length(), 20u);
    EXPECT_EQ(header(response, "Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(header(response, "Last-Modified"), kMtimeHttpDate);
    EXPECT_EQ(header(response, "Accept-Ranges"), "bytes");
    std::string etag = header(response, "ETag");
    ASSERT_GE(etag.size(), 3u);
    EXPECT_EQ(etag.front(), '"');
    EXPECT_EQ(etag.back(), '"');
}

TEST_F(ServeStaticTarget, GivesANewEtagWhenTheFileChanges) {
    std::string before = header(serve_file(), "ETag");
    EXPECT_EQ(header(serve_file(), "ETag"), before);
    write("docs/readme.txt", "changed, and longer than before");
    EXPECT_NE(header(serve_file(), "ETag"), before);
}

TEST_F(ServeStaticTarget, AnswersHeadWithTheSameHeadersAsGet) {
    Response get_response = serve_file();
    Response head_response = serve_file({}, "HEAD");
    EXPECT_EQ(head_response.status, 200);
    EXPECT_EQ(head_response.headers, get_response.headers);
    EXPECT_EQ(head_response.body_length(), 20u);  // the adapter sends it as Content-Length
}

TEST_F(ServeStaticTarget, AnswersAMatchingIfNoneMatchWith304) {
    std::string etag = header(serve_file(), "ETag");
    for (const std::string& value : {etag, "\"other\", " + etag, "W/" + etag, std::string("*")}) {
        SCOPED_TRACE(value);
        Response response = serve_file({{"If-None-Match", value}});
        EXPECT_EQ(response.status, 304);
        EXPECT_FALSE(response.file || response.shared);
        EXPECT_EQ(response.body, "");
        EXPECT_EQ(header(response, "ETag"), etag);
        EXPECT_EQ(header(response, "Last-Modified"), kMtimeHttpDate);
    }
}

TEST_F(ServeStaticTarget, SendsTheFileWhenIfNoneMatchDoesNotMatch) {
    Response response = serve_file({{"If-None-Match", "\"stale\""}});
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(file_bytes(response), kContent);
}

TEST_F(ServeStaticTarget, AnswersIfModifiedSinceNotOlderThanTheFileWith304) {
    EXPECT_EQ(serve_file({{"If-Modified-Since", kMtimeHttpDate}}).status, 304);
    EXPECT_EQ(serve_file({{"If-Modified-Since", "Wed, 15 Nov 2023 00:00:00 GMT"}}).status, 304);
    Response older = serve_file({{"If-Modified-Since", "Tue, 14 Nov 2023 22:13:19 GMT"}});
    EXPECT_EQ(older.status, 200);
    EXPECT_EQ(file_bytes(older), kContent);
    EXPECT_EQ(serve_file({{"If-Modified-Since", "not a date"}}).status, 200);
}

TEST_F(ServeStaticTarget, IgnoresIfModifiedSinceWhenIfNoneMatchIsPresent) {
    // RFC 9110 §13.2.2: If-None-Match decides alone.
    Response response =
        serve_file({{"If-None-Match", "\"stale\""}, {"If-Modified-Since", kMtimeHttpDate}});
    EXPECT_EQ(response.status, 200);
}

TEST_F(ServeStaticTarget, AnswersAFailedIfMatchWith412) {
    EXPECT_EQ(serve_file({{"If-Match", "\"stale\""}}).status, 412);
    std::string etag = header(serve_file(), "ETag");
    EXPECT_EQ(serve_file({{"If-Match", etag}}).status, 200);
}

TEST_F(ServeStaticTarget, AnswersASingleRangeWith206) {
    Response response = serve_file({{"Range", "bytes=2-5"}});
    EXPECT_EQ(response.status, 206);
    EXPECT_EQ(header(response, "Content-Range"), "bytes 2-5/20");
    EXPECT_EQ(file_bytes(response), "2345");
    EXPECT_EQ(header(response, "Content-Type"), "text/plain; charset=utf-8");

    Response suffix = serve_file({{"Range", "bytes=-3"}});
    EXPECT_EQ(suffix.status, 206);
    EXPECT_EQ(header(suffix, "Content-Range"), "bytes 17-19/20");
    EXPECT_EQ(file_bytes(suffix), "hij");

    Response open_ended = serve_file({{"Range", "bytes=15-"}});
    EXPECT_EQ(open_ended.status, 206);
    EXPECT_EQ(file_bytes(open_ended), "fghij");
}

TEST_F(ServeStaticTarget, AnswersAnUnsatisfiableRangeWith416) {
    Response response = serve_file({{"Range", "bytes=20-"}});
    EXPECT_EQ(response.status, 416);
    EXPECT_EQ(header(response, "Content-Range"), "bytes */20");
    EXPECT_FALSE(response.file || response.shared);
}

TEST_F(ServeStaticTarget, SendsTheWholeFileForSeveralRangesOrAnInvalidOne) {
    for (const char* range : {"bytes=0-1,4-5", "bytes=5-2", "lines=1-2", "bytes=abc"}) {
        SCOPED_TRACE(range);
        Response response = serve_file({{"Range", range}});
        EXPECT_EQ(response.status, 200);
        EXPECT_EQ(file_bytes(response), kContent);
        EXPECT_EQ(header(response, "Content-Range"), "<absent>");
    }
}

TEST_F(ServeStaticTarget, HonoursIfRangeOnlyForTheCurrentVersion) {
    std::string etag = header(serve_file(), "ETag");
    Response current = serve_file({{"Range", "bytes=0-1"}, {"If-Range", etag}});
    EXPECT_EQ(current.status, 206);
    EXPECT_EQ(file_bytes(current), "01");
    Response stale = serve_file({{"Range", "bytes=0-1"}, {"If-Range", "\"stale\""}});
    EXPECT_EQ(stale.status, 200);
    EXPECT_EQ(file_bytes(stale), kContent);
}

TEST_F(ServeStaticTarget, IgnoresRangeOnHead) {
    Response response = serve_file({{"Range", "bytes=2-5"}}, "HEAD");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body_length(), 20u);
}

TEST_F(ServeStaticTarget, RefusesOtherMethodsWith405AndAllow) {
    for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
        SCOPED_TRACE(method);
        Response response = serve_file({}, method);
        EXPECT_EQ(response.status, 405);
        EXPECT_EQ(header(response, "Allow"), "GET, HEAD");
        EXPECT_FALSE(response.file || response.shared);
    }
    Request post = get({}, "POST");
    EXPECT_EQ(serve(post, directory_target(TargetKind::directory_listing, "/docs/"), true).status,
              405);
    EXPECT_EQ(serve(post, directory_target(TargetKind::redirect_to_slash, "/docs")).status, 405);
}

TEST_F(ServeStaticTarget, AnswersADirectoryWithoutListingWith403) {
    Response response = serve(get(), directory_target(TargetKind::directory_listing, "/docs/"));
    EXPECT_EQ(response.status, 403);
    EXPECT_EQ(response.body.find("readme.txt"), std::string::npos);
}

TEST_F(ServeStaticTarget, ListsADirectoryWhenListingIsOn) {
    Response response =
        serve(get(), directory_target(TargetKind::directory_listing, "/docs/"), true);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(header(response, "Content-Type"), "text/html; charset=utf-8");
    const std::string& body = response.body;
    EXPECT_NE(body.find("Index of /docs/"), std::string::npos) << body;
    EXPECT_NE(body.find(">readme.txt<"), std::string::npos) << body;
    EXPECT_NE(body.find(">a.txt<"), std::string::npos) << body;
    EXPECT_NE(body.find(">sub/<"), std::string::npos) << body;
    EXPECT_NE(body.find("&lt;b&gt;&amp;.txt"), std::string::npos) << body;
    EXPECT_NE(body.find("href=\"./%3Cb%3E&amp;.txt\""), std::string::npos) << body;
    EXPECT_EQ(body.find("<b>"), std::string::npos) << body;
    EXPECT_EQ(body.find(".secret"), std::string::npos) << body;
}

TEST_F(ServeStaticTarget, RedirectsToTheSlashFormKeepingTheQuery) {
    Request request = get();
    request.query = "q=1&x=%20";
    request.has_query = true;
    Response response = serve(request, directory_target(TargetKind::redirect_to_slash, "/docs"));
    EXPECT_EQ(response.status, 301);
    EXPECT_EQ(header(response, "Location"), "/docs/?q=1&x=%20");

    Response no_query = serve(get(), directory_target(TargetKind::redirect_to_slash, "/docs"));
    EXPECT_EQ(header(no_query, "Location"), "/docs/");
}

TEST_F(ServeStaticTarget, RedirectEncodesTheDecodedPath) {
    Response response =
        serve(get(), directory_target(TargetKind::redirect_to_slash, "/my docs/a?b#c/caf\xc3\xa9"));
    EXPECT_EQ(header(response, "Location"), "/my%20docs/a%3Fb%23c/caf%C3%A9/");
}

TEST_F(ServeStaticTarget, MapsResolverRefusalsToTheirStatus) {
    const std::vector<std::pair<TargetKind, int>> cases = {
        {TargetKind::bad_request, 400},
        {TargetKind::not_found, 404},
        {TargetKind::forbidden, 403},
        {TargetKind::cgi_script, 500},  // CGI never reaches the static handler
    };
    for (const auto& [kind, status] : cases) {
        Target target;
        target.kind = kind;
        Response response = serve(get(), target);
        EXPECT_EQ(response.status, status);
        EXPECT_FALSE(response.file || response.shared);
        EXPECT_EQ(header(response, "Content-Type"), "text/html; charset=utf-8");
        EXPECT_NE(response.body.find(std::to_string(status)), std::string::npos);
        EXPECT_LT(response.body.size(), 1024u);
    }
}

TEST_F(ServeStaticTarget, KeepsTheBytesOfASmallFileAndSendsALargeOneFromDisk) {
    std::shared_ptr<const FileFacts> served;
    Response small = serve_static_target(get(), file_target(file_), mime_, {}, &served);
    ASSERT_TRUE(served);
    ASSERT_TRUE(served->content);
    EXPECT_EQ(*served->content, kContent);
    EXPECT_TRUE(small.shared);
    EXPECT_EQ(served->etag, header(small, "ETag"));
    EXPECT_EQ(served->last_modified, kMtimeHttpDate);

    const std::string large_content(kFileContentBytes + 1, 'L');
    const std::string large = write("docs/large.bin", large_content);
    Response response = serve_static_target(get(), file_target(large), mime_, {}, &served);
    ASSERT_TRUE(served);
    EXPECT_FALSE(served->content);
    ASSERT_TRUE(response.file);
    EXPECT_EQ(file_bytes(response), large_content);
}

TEST_F(ServeStaticTarget, AnswersFromKnownFactsAsFromTheFile) {
    std::shared_ptr<const FileFacts> served;
    (void)serve_static_target(get(), file_target(file_), mime_, {}, &served);
    ASSERT_TRUE(served);
    Response ranged = respond_with_file(get({{"Range", "bytes=2-5"}}), served, UniqueFd());
    EXPECT_EQ(ranged.status, 206);
    EXPECT_EQ(file_bytes(ranged), "2345");
    Response revalidated =
        respond_with_file(get({{"If-None-Match", served->etag}}), served, UniqueFd());
    EXPECT_EQ(revalidated.status, 304);
    EXPECT_FALSE(revalidated.file || revalidated.shared);
}

TEST_F(ServeStaticTarget, AnswersAFileThatVanishedWith404) {
    EXPECT_EQ(serve(get(), file_target((root_ / "docs/gone.txt").string())).status, 404);
    EXPECT_EQ(serve(get(), file_target(file_ + "/below")).status, 404);  // ENOTDIR
}

TEST_F(ServeStaticTarget, RefusesToSendSomethingThatIsNotARegularFile) {
    EXPECT_EQ(serve(get(), file_target((root_ / "docs").string())).status, 403);
}

TEST_F(ServeStaticTarget, AnswersAnUnreadableFileWith403) {
    if (::geteuid() == 0) GTEST_SKIP() << "root can read any file";
    ::chmod(file_.c_str(), 0);
    EXPECT_EQ(serve_file().status, 403);
}

TEST_F(ServeStaticTarget, SendsAnEmptyFileWith200) {
    std::string empty = write("docs/empty.txt", "");
    Response response = serve(get(), file_target(empty));
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body_length(), 0u);
}

}  // namespace
}  // namespace cgihost
