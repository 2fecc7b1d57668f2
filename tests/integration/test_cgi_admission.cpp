// The fair use of scripts against the real binary: the per-client cap (cgi-max-per-client)
// and the FIFO wait queue at the global cap (cgi-queue, cgi-queue-timeout). Scripts that
// must hold their slot sleep long and are stopped by closing their connection, so every
// assertion is about order (who was answered while who still waited), never about time.
#include <gmock/gmock.h>
#include <signal.h>

#include "cgi_fixture.hpp"

namespace cgihost::testing {
namespace {

std::string get_request(const std::string& target) {
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

// Whether `connection` has received any byte yet (without waiting).
bool has_answer(const HttpConnection& connection) {
    pollfd pfd{connection.fd(), POLLIN, 0};
    return ::poll(&pfd, 1, 0) > 0;
}

class CgiAdmissionLive : public CgiTest {
  protected:
    // Opens a connection (from `source`, if given) asking for `target`.
    std::unique_ptr<HttpConnection> send(const std::string& target,
                                         const std::string& source = "") const {
        auto connection = std::make_unique<HttpConnection>(port(), "127.0.0.1", source);
        EXPECT_TRUE(connection->connected()) << "cannot connect from " << source;
        connection->send_raw(get_request(target));
        return connection;
    }

    // A script that writes `name` and then holds its slot until its connection is closed;
    // returns once its answer has begun, so the slot is surely taken.
    std::unique_ptr<HttpConnection> hold_slot(const std::string& name,
                                              const std::string& source = "") const {
        auto connection = send("/cgi-bin/t?body=" + name + "&sleep=60", source);
        std::string received;
        EXPECT_TRUE(read_until(
            connection->fd(), received,
            [&](const std::string& r) { return r.find(name) != std::string::npos; }, 10000ms))
            << name << " did not start: " << received;
        return connection;
    }

    size_t queued_count() const { return count_in_error_log("; queued"); }
    size_t left_queue_count() const { return count_in_error_log(": left the queue"); }

    size_t count_in_error_log(const std::string& text) const {
        std::string log = server_->error_log();
        size_t count = 0;
        for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1))
            ++count;
        return count;
    }

    // Sends `target` and waits until the server has queued it (the debug log says so).
    std::unique_ptr<HttpConnection> send_queued(const std::string& target) const {
        size_t before = queued_count();
        auto connection = send(target);
        EXPECT_TRUE(wait_until([&] { return queued_count() > before; }, 10000ms))
            << target << " was not queued:\n"
            << server_->error_log();
        return connection;
    }

    static void expect_retry_later(const std::optional<HttpResponse>& response) {
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 503);
        EXPECT_EQ(response->header("Retry-After"), "1");
    }
};

TEST_F(CgiAdmissionLive, RefusesAClientBeyondItsCapWhileAnotherAddressStillGetsASlot) {
    start({"--cgi-max-per-client", "2", "--cgi-queue", "0"});
    auto first = hold_slot("a1");
    auto second = hold_slot("a2");
    auto third = send("/cgi-bin/t?body=a3");
    expect_retry_later(third->read_response(false, 10s));
    EXPECT_EQ(child_processes(server_->pid()).size(), 2u) << "a third script of 127.0.0.1 ran";

    // Any address of 127.0.0.0/8 reaches a loopback listener: a second client.
    auto other = send("/cgi-bin/t?env", "127.0.0.2");
    auto answer = other->read_response(false, 10s);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200);
    EXPECT_EQ(parse_lines(answer->body)["REMOTE_ADDR"], "127.0.0.2");

    // A slot of 127.0.0.1's comes back when one of its scripts ends.
    first->close();
    EXPECT_TRUE(wait_until([&] { return child_processes(server_->pid()).size() == 1; }, 10000ms));
    auto again = http_get(port(), "/cgi-bin/t?body=again");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200);
    EXPECT_EQ(again->body, "again");
}

TEST_F(CgiAdmissionLive, QueuedRequestsRunInArrivalOrderOnceSlotsFree) {
    start({"--cgi-max-processes", "2", "--cgi-queue", "2", "--cgi-max-per-client", "0",
           "--log-level", "debug", "--cgi-kill-grace", "0.5"});
    auto first = hold_slot("r1");
    auto second = hold_slot("r2");
    auto third = send_queued("/cgi-bin/t?body=r3&sleep=60");
    auto fourth = send_queued("/cgi-bin/t?body=r4");
    // The queue is full now: the fifth is refused at once, while the others still wait.
    expect_retry_later(send("/cgi-bin/t?body=r5")->read_response(false, 10s));
    EXPECT_FALSE(has_answer(*third));
    EXPECT_FALSE(has_answer(*fourth));

    first->close();  // its script is stopped and reaped: one slot frees, for the oldest waiter
    std::string received;
    EXPECT_TRUE(read_until(
        third->fd(), received,
        [](const std::string& r) { return r.find("r3") != std::string::npos; }, 10000ms))
        << "the third request did not get the freed slot: " << received;
    // The fourth can only run once the third's script ends, which the test has not allowed.
    EXPECT_FALSE(has_answer(*fourth)) << "the fourth request overtook the third";
    EXPECT_EQ(child_processes(server_->pid()).size(), 2u);

    third->close();
    auto fourth_answer = fourth->read_response(false, 10s);
    ASSERT_TRUE(fourth_answer);
    EXPECT_EQ(fourth_answer->status, 200);
    EXPECT_EQ(fourth_answer->body, "r4");
}

TEST_F(CgiAdmissionLive, AnswersARequestThatWaitedPastTheQueueTimeoutWith503) {
    start({"--cgi-max-processes", "1", "--cgi-queue", "1", "--cgi-queue-timeout", "1",
           "--log-level", "debug", "--cgi-kill-grace", "0.5"});
    auto running = hold_slot("held");
    auto marker = site_ / "late-script-ran";
    auto waiter = send_queued("/cgi-bin/t?touch=" + encode_query(marker.string()));
    auto refused = waiter->read_response(false, 15s);
    ASSERT_TRUE(refused) << "no answer to a request that waited too long";
    expect_retry_later(refused);
    EXPECT_THAT(refused->body, ::testing::HasSubstr("became free in time"));
    EXPECT_FALSE(has_answer(*running)) << "the slot's script ended early";

    // The timed-out request left no trace: its queue place is free again, and once the slot
    // frees, the new waiter (not the old) gets it.
    auto next = send_queued("/cgi-bin/t?body=next");
    running->close();
    auto answer = next->read_response(false, 10s);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200);
    EXPECT_EQ(answer->body, "next");
    EXPECT_FALSE(std::filesystem::exists(marker)) << "a script ran for a refused request";
}

TEST_F(CgiAdmissionLive, AQueuedClientThatHangsUpNeverGetsAScript) {
    start({"--cgi-max-processes", "1", "--cgi-queue", "4", "--log-level", "debug",
           "--cgi-kill-grace", "0.5"});
    auto running = hold_slot("held");
    auto marker = site_ / "departed-script-ran";
    auto departed = send_queued("/cgi-bin/t?touch=" + encode_query(marker.string()));
    departed->close();
    ASSERT_TRUE(wait_until([&] { return left_queue_count() == 1; }, 10000ms))
        << server_->error_log();

    running->close();
    ASSERT_TRUE(all_children_gone(10000ms));
    // The slot came back whole: a new request runs at once, and nothing ran for the departed.
    auto answer = http_get(port(), "/cgi-bin/t?body=after");
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200);
    EXPECT_EQ(answer->body, "after");
    EXPECT_FALSE(std::filesystem::exists(marker)) << "a script ran for a client that left";
}

TEST_F(CgiAdmissionLive, ServesStaticFilesWhileEverySlotIsTakenAndTheQueueIsFull) {
    start({"--cgi-max-processes", "1", "--cgi-queue", "1", "--cgi-max-per-client", "0",
           "--log-level", "debug", "--cgi-kill-grace", "0.5"});
    auto running = hold_slot("held");
    auto waiting = send_queued("/cgi-bin/t?body=waited");
    expect_retry_later(send("/cgi-bin/t?body=refused")->read_response(false, 10s));

    auto page = get("/index.html");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(page->body, kIndexHtml);
    // Ordering, not timing: the file came while the queued script had not even started.
    EXPECT_FALSE(has_answer(*waiting));

    running->close();
    auto answer = waiting->read_response(false, 10s);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200);
    EXPECT_EQ(answer->body, "waited");
}

TEST_F(CgiAdmissionLive, AnswersQueuedRequestsWith503WhenTheServerStops) {
    start({"--cgi-max-processes", "1", "--cgi-queue", "2", "--log-level", "debug",
           "--shutdown-grace", "2", "--cgi-kill-grace", "0.5"});
    auto running = hold_slot("held");
    auto waiting = send_queued("/cgi-bin/t?body=waited");
    ASSERT_EQ(::kill(server_->pid(), SIGTERM), 0);
    auto answer = waiting->read_response(false, 10s);
    ASSERT_TRUE(answer) << "no answer to a queued request at shutdown";
    expect_retry_later(answer);
    EXPECT_THAT(answer->body, ::testing::HasSubstr("shutting down"));
    EXPECT_EQ(server_->stop(SIGTERM, 15), 0);
}

}  // namespace
}  // namespace cgihost::testing
