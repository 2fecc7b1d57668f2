#include "http/evhttp_adapter.hpp"

#include <event2/http.h>
#include <event2/http_struct.h>
#include <gtest/gtest.h>

#include <memory>

namespace cgihost {
namespace {

struct RequestDeleter {
    void operator()(evhttp_request* req) const { evhttp_request_free(req); }
};

struct VersionCase {
    int major;
    int minor;
    int answered_minor;  // the response always says HTTP/1.<this>
};

// Found by tests/fuzz/fuzz_request: evhttp echoes the request's version in our status line, so
// "GET / HTTP/0.1" was answered "HTTP/0.1 200 OK" and "HTTP/1.-1" got "HTTP/1.-1 400".
TEST(MakeRequest, MakesEvhttpAnswerWithHttp11OrHttp10WhateverTheClientSent) {
    const VersionCase cases[] = {
        {1, 1, 1}, {1, 0, 0}, {0, 9, 1}, {0, 1, 1}, {2, 0, 1}, {1, 5, 1}, {1, -1, 1}, {-1, 1, 1},
    };
    for (const auto& c : cases) {
        std::unique_ptr<evhttp_request, RequestDeleter> req(evhttp_request_new(nullptr, nullptr));
        req->major = static_cast<char>(c.major);
        req->minor = static_cast<char>(c.minor);
        Request request = make_request(req.get());
        EXPECT_EQ(req->major, 1) << c.major << "." << c.minor;
        EXPECT_EQ(req->minor, c.answered_minor) << c.major << "." << c.minor;
        // The request itself keeps what the client sent, for validation and SERVER_PROTOCOL.
        EXPECT_EQ(request.version_major, static_cast<unsigned char>(c.major));
        EXPECT_EQ(request.version_minor, static_cast<unsigned char>(c.minor));
    }
}

}  // namespace
}  // namespace cgihost
