// RequestDeadline: when a request head and body are due, fed phases, byte counts and clock
// readings.
#include "http/request_deadline.hpp"

#include <gtest/gtest.h>

namespace cgihost {
namespace {

constexpr RequestTimeouts kTimeouts{.header_timeout = 20, .body_timeout = 10, .body_min_rate = 500};

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
    deadline.note_request_byte(50);
    EXPECT_EQ(deadline.phase(), RequestDeadline::Phase::head);
    EXPECT_EQ(deadline.deadline(), 70);
}

TEST(RequestDeadline, LaterHeadBytesDoNotMoveTheDeadline) {
    RequestDeadline deadline(kTimeouts);
    deadline.start_head(0);
    for (double now = 1; now < 30; now += 1)
        deadline.note_request_byte(now);
    EXPECT_EQ(deadline.deadline(), 20);
}

TEST(RequestDeadline, ExtendsTheBodyDeadlineASecondPerMinimumRateOfBytes) {
    RequestDeadline deadline(kTimeouts);
    deadline.start_body(0);
    deadline.receive_body(250, 0);
    EXPECT_EQ(deadline.deadline(), 10);  // never more than body_timeout ahead of the clock
    deadline.receive_body(750, 5);
    EXPECT_EQ(deadline.deadline(), 11.5);
}

TEST(RequestDeadline, AFastStartCannotBankTimeForATrickle) {
    RequestDeadline deadline(kTimeouts);
    deadline.start_body(0);
    deadline.receive_body(uint64_t{16} << 20, 1);  // 16 MiB in the first second
    EXPECT_EQ(deadline.deadline(), 11);
    double now = 1;
    while (now < 60 && now < *deadline.deadline()) {
        now += 10;
        deadline.receive_body(1, now);  // then a byte every 10 s
    }
    EXPECT_LT(now, 30);
    EXPECT_GE(now, *deadline.deadline());
}

TEST(RequestDeadline, ABodyAtTheMinimumRateNeverFallsDue) {
    RequestDeadline deadline(kTimeouts);
    deadline.start_body(0);
    for (double now = 1; now < 1000; now += 1) {
        deadline.receive_body(500, now);
        ASSERT_GT(*deadline.deadline(), now);
    }
}

TEST(RequestDeadline, WithoutAMinimumRateTheBodyTimeoutIsFixed) {
    RequestDeadline deadline({.header_timeout = 20, .body_timeout = 10, .body_min_rate = 0});
    deadline.start_body(0);
    deadline.receive_body(100000, 5);
    EXPECT_EQ(deadline.deadline(), 10);
}

TEST(RequestDeadline, HasNoDeadlineOnceTheRequestIsDeliveredUntilTheNextOneStarts) {
    RequestDeadline deadline(kTimeouts);
    deadline.start_head(0);
    deadline.finish();
    EXPECT_FALSE(deadline.deadline());
    deadline.note_request_byte(1);  // a pipelined byte while the answer is under way
    EXPECT_EQ(deadline.phase(), RequestDeadline::Phase::done);
    deadline.await_next();
    EXPECT_FALSE(deadline.deadline());
    deadline.note_request_byte(30);
    EXPECT_EQ(deadline.deadline(), 50);
}

}  // namespace
}  // namespace cgihost
