// Static files served by the real binary: content, types, validators, ranges, directories.
#include <gtest/gtest.h>

#include "http_client.hpp"
#include "test_server.hpp"

namespace cgihost::testing {
namespace {

class StaticFiles : public ::testing::Test {
  protected:
    void SetUp() override {
        root_.write_file("www/index.html", "<h1>home</h1>\n");
        root_.write_file("www/style.css", "body{}\n");
        root_.write_file("www/docs/readme.txt", "0123456789abcdefghij");
        server_ = std::make_unique<TestServer>(std::vector<std::string>{
            "--docroot", (root_ / "www").string(), "--cgi-dir", (root_ / "cgi-bin").string()});
    }
    TempDir root_;
    std::unique_ptr<TestServer> server_;
};

TEST_F(StaticFiles, ServesTheIndexFileForTheRoot) {
    auto response = http_get(server_->port(), "/");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "<h1>home</h1>\n");
    EXPECT_EQ(response->header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(response->header("Server"), "cgihost/0.1.0");
}

TEST_F(StaticFiles, AnswersARangeWith206AndContentRange) {
    auto response = http_get(server_->port(), "/docs/readme.txt", {{"Range", "bytes=2-5"}});
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 206);
    EXPECT_EQ(response->body, "2345");
    EXPECT_EQ(response->header("Content-Range"), "bytes 2-5/20");
}

}  // namespace
}  // namespace cgihost::testing
