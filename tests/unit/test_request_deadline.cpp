// RequestDeadline: when a request head and body are due, fed bytes and clock readings.
#include "request_deadline.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cgihost {
namespace {

constexpr RequestTimeouts kTimeouts{.header_timeout = 20, .body_timeout = 10, .body_min_rate = 500};
constexpr std::string_view kHead =
    "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";

TEST(RequestDeadline, HasNoDeadlineWhileIdle) {
    RequestDeadline deadline(kTimeouts);
    EXPECT_EQ(deadline.phase(), RequestDeadline::Phase::idle);
    EXPECT_FALSE(deadline.deadline());
}

TEST(RequestDeadline, DueTheHeaderTimeoutAfterTheConnectionOpens) {
    RequestDeadline deadline(kTimeouts);
    deadline.start_head(100);
    EXPECT_EQ(deadline.deadline(), 120);
}

TEST(RequestDeadline, StartsTheHeadClockAtTheFirstByteOfAnIdleConnection) {
    RequestDeadline deadline(kTimeouts);
    deadline.receive("G", 50);
    EXPECT_EQ(deadline.phase(), RequestDeadline::Phase::head);
    EXPECT_EQ(deadline.deadline(), 70);
}

TEST(RequestDeadline, TrickledHeadBytesDoNotMoveTheDeadline) {
    RequestDeadline deadline(kTimeouts);
    deadline.start_head(0);
    double now = 0;
    for (char c : std::string("GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaa")) {
        deadline.receive(std::string(1, c), now);
        now += 1;
    }
    EXPECT_EQ(deadline.phase(), RequestDeadline::Phase::head);
    EXPECT_EQ(deadline.deadline(), 20);
}

TEST(RequestDeadline, EndsTheHeadAtItsBlankLineWhereverTheBytesAreSplit) {
    for (size_t split = 0; split <= kHead.size(); ++split) {
        RequestDeadline deadline(kTimeouts);
        deadline.start_head(0);
        deadline.receive(kHead.substr(0, split), 1);
        deadline.receive(kHead.substr(split), 2);
        EXPECT_EQ(deadline.phase(), RequestDeadline::Phase::body) << "split at " << split;
        const double head_ended = split == kHead.size() ? 1 : 2;
        EXPECT_EQ(deadline.deadline(), head_ended + 10) << "split at " << split;
    }
}

TEST(RequestDeadline, AcceptsBareLfLineEndings) {
    RequestDeadline deadline(kTimeouts);
    deadline.receive("GET / HTTP/1.1\nHost: x\n\n", 0);
    EXPECT_EQ(deadline.phase(), RequestDeadline::Phase::body);
}

TEST(RequestDeadline, EmptyLinesBeforeTheRequestLineDoNotEndTheHead) {
    RequestDeadline deadline(kTimeouts);
    deadline.receive("\r\n\r\n\r\nGET / HTTP/1.1\r\n", 0);
    EXPECT_EQ(deadline.phase(), RequestDeadline::Phase::head);
    deadline.receive("\r\n", 1);
    EXPECT_EQ(deadline.phase(), RequestDeadline::Phase::body);
}

TEST(RequestDeadline, ExtendsTheBodyDeadlineASecondPerMinimumRateOfBytes) {
    RequestDeadline deadline(kTimeouts);
    deadline.receive(std::string(kHead) + std::string(250, 'b'), 0);
    EXPECT_EQ(deadline.deadline(), 10.5);
    deadline.receive(std::string(750, 'b'), 5);
    EXPECT_EQ(deadline.deadline(), 12);
}

TEST(RequestDeadline, WithoutAMinimumRateTheBodyTimeoutIsFixed) {
    RequestDeadline deadline({.header_timeout = 20, .body_timeout = 10, .body_min_rate = 0});
    deadline.receive(std::string(kHead) + std::string(100000, 'b'), 0);
    EXPECT_EQ(deadline.deadline(), 10);
}

TEST(RequestDeadline, HasNoDeadlineOnceTheRequestIsDeliveredUntilTheNextOneStarts) {
    RequestDeadline deadline(kTimeouts);
    deadline.receive("GET / HTTP/1.1\r\n\r\n", 0);
    deadline.finish();
    EXPECT_FALSE(deadline.deadline());
    deadline.receive("GET /pipelined", 1);  // arrives while the answer is under way
    EXPECT_EQ(deadline.phase(), RequestDeadline::Phase::done);
    deadline.await_next();
    EXPECT_FALSE(deadline.deadline());
    deadline.receive("GET /next HTTP/1.1\r\n", 30);
    EXPECT_EQ(deadline.deadline(), 50);
}

}  // namespace
}  // namespace cgihost
