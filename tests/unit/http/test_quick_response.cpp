#include "http/quick_response.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "http/http_status.hpp"

namespace cgihost {
namespace {

constexpr const char* kDate = "Wed, 02 Dec 2026 18:30:08 GMT";

Response file_response() {
    Response response;
    response.add_header("ETag", "\"1-2-3\"");
    response.add_header("Content-Type", "text/plain; charset=utf-8");
    response.shared = SharedBody{std::make_shared<const std::string>("0123456789"), 2, 5};
    return response;
}

TEST(RenderQuickResponse, WritesTheStatusFieldsServerDateLengthAndTheSharedBytes) {
    EXPECT_EQ(render_quick_response(file_response(), false, kDate),
              "HTTP/1.1 200 OK\r\n"
              "ETag: \"1-2-3\"\r\n"
              "Content-Type: text/plain; charset=utf-8\r\n"
              "Server: cgihost/0.1.0\r\n"
              "Date: Wed, 02 Dec 2026 18:30:08 GMT\r\n"
              "Content-Length: 5\r\n"
              "\r\n"
              "23456");
}

TEST(RenderQuickResponse, AnswersHeadWithTheLengthOfGetAndNoBody) {
    const std::string head = render_quick_response(file_response(), true, kDate);
    EXPECT_NE(head.find("Content-Length: 5\r\n"), std::string::npos);
    EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;
}

TEST(RenderQuickResponse, SendsAStringBodyAndNoLengthWhereTheStatusHasNoBody) {
    Response text;
    text.body = "hello";
    EXPECT_TRUE(
        render_quick_response(text, false, kDate).ends_with("Content-Length: 5\r\n\r\nhello"));
    Response not_modified;
    not_modified.status = status::not_modified;
    const std::string rendered = render_quick_response(not_modified, false, kDate);
    EXPECT_EQ(rendered.rfind("HTTP/1.1 304 Not Modified\r\n", 0), 0u) << rendered;
    EXPECT_EQ(rendered.find("Content-Length"), std::string::npos);
}

TEST(CurrentHttpDate, IsAnImfFixdateOfNow) {
    const std::string& date = current_http_date();
    EXPECT_EQ(date.size(), 29u);
    EXPECT_TRUE(date.ends_with(" GMT")) << date;
}

}  // namespace
}  // namespace cgihost
