// The front door against the real binary: what a client sends is bounded, framed strictly and
// paid for in proportion. Each test is a finding of issue 10 (a pipelining flood, an endless
// chunk-size line, quadratic body CPU, bodies that pin memory for hours, a lost 413, uploads
// larger than memory, a body on HEAD smuggling a second request) that failed before the
// framing layer (src/request_intake.*) and passes with it.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cgi_fixture.hpp"
#include "http_client.hpp"
#include "sha256.hpp"
#include "test_server.hpp"

namespace cgihost::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kMiB = uint64_t{1} << 20;

// Sends as much of `bytes` as the socket takes within `wait`; returns how much it took.
size_t send_some(int fd, std::string_view bytes, std::chrono::milliseconds wait) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0 || (p.revents & POLLOUT) == 0) return 0;
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    return n > 0 ? static_cast<size_t>(n) : 0;
}

bool readable(int fd, std::chrono::milliseconds wait) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) > 0 && (p.revents & (POLLIN | POLLHUP));
}

// Sends `body` in full unless the server answers first; returns the bytes sent.
size_t send_body_until_answered(int fd, const std::string& body) {
    size_t sent = 0;
    const auto guard = Clock::now() + 60s;  // a hang guard, not the property under test
    while (sent < body.size() && Clock::now() < guard) {
        sent += send_some(fd, std::string_view(body).substr(sent, 256 * 1024), 100ms);
        if (readable(fd, 0ms)) break;
    }
    return sent;
}

class FrontDoor : public CgiTest {
  protected:
    // For the tests that measure memory: under AddressSanitizer freed memory sits in a
    // quarantine (256 MiB by default) instead of being reused, so every buffer a long
    // exchange allocates and frees would show as growth. Leaks are still reported.
    void start_without_quarantine(const std::vector<std::string>& extra = {}) {
        const char* sanitizer = std::getenv("ASAN_OPTIONS");
        const std::string saved = sanitizer != nullptr ? sanitizer : "";
        ::setenv("ASAN_OPTIONS",
                 (saved + ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0").c_str(), 1);
        start(extra);
        ::setenv("ASAN_OPTIONS", saved.c_str(), 1);
    }
};

TEST_F(FrontDoor, PipelinedRequestsWaitInABoundedBufferWhileTheClientReadsNothing) {
    site_.write_file("www/index.html", std::string(4096, 'i'));
    start_without_quarantine();
    ASSERT_EQ(get("/index.html")->status, 200);
    const uint64_t before = resident_bytes(server_->pid());
    std::string pipeline;
    while (pipeline.size() < 64 * 1024)
        pipeline += "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n";
    std::vector<std::unique_ptr<HttpConnection>> flooders;
    for (int i = 0; i < 20; ++i)
        flooders.push_back(std::make_unique<HttpConnection>(port()));
    // Each connection pushes until the server stops taking its bytes (or 64 MiB, a bound).
    std::vector<uint64_t> pushed(flooders.size(), 0);
    const auto until = Clock::now() + 3s;
    while (Clock::now() < until) {
        bool any = false;
        for (size_t i = 0; i < flooders.size(); ++i) {
            if (pushed[i] >= 64 * kMiB) continue;
            size_t n = send_some(flooders[i]->fd(), pipeline, 10ms);
            pushed[i] += n;
            any = any || n > 0;
        }
        if (!any) break;
    }
    const uint64_t growth =
        resident_bytes(server_->pid()) - std::min(before, resident_bytes(server_->pid()));
    EXPECT_LT(growth, 16 * kMiB) << "pushed " << *std::max_element(pushed.begin(), pushed.end())
                                 << " bytes on one connection";
    EXPECT_LT(*std::max_element(pushed.begin(), pushed.end()), 64 * kMiB);
    EXPECT_EQ(get("/index.html")->status, 200);  // everyone else is still served
}

TEST_F(FrontDoor, PipelinedRequestsAreAnsweredInOrderOneAtATime) {
    start();
    HttpConnection connection(port());
    connection.send_raw(
        "GET /cgi-bin/t?body=one HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST /cgi-bin/t?echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\ntwo\r\n0\r\n\r\n"
        "GET /cgi-bin/t?body=three HTTP/1.1\r\nHost: x\r\n\r\n");
    for (const char* expected : {"one", "two", "three"}) {
        auto response = connection.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->body, expected);
    }
}

TEST_F(FrontDoor, AnEndlessChunkSizeLineIsRefusedWith400) {
    start({"--max-body-size", "1MiB"});
    HttpConnection connection(port());
    connection.send_raw(
        "POST /cgi-bin/t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const size_t sent = send_body_until_answered(connection.fd(), std::string(100 * kMiB, '0'));
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400);
    EXPECT_LT(sent, 100 * kMiB) << "the server read the whole line before answering";
    EXPECT_TRUE(connection.wait_closed(10s));
}

TEST_F(FrontDoor, ChunkFramingCountsAgainstTheBodyLimit) {
    start({"--max-body-size", "512"});
    std::string chunks;
    for (int i = 0; i < 100; ++i)
        chunks += "1\r\nx\r\n";  // 100 bytes of data in 600 sent
    HttpConnection connection(port());
    connection.send_raw(
        "POST /cgi-bin/t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks +
        "0\r\n\r\n");
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 413);
}

TEST_F(FrontDoor, AValidChunkExtensionIsAccepted) {
    start();
    HttpConnection connection(port());
    connection.send_raw(
        "POST /cgi-bin/t?echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nhello\r\n0\r\n\r\n");
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "hello");
}

// CPU time, not wall-clock time: load slows both halves alike. Before the fix one 64 MiB body
// cost several times what sixteen 4 MiB bodies did (every read rescanned the whole buffer).
TEST_F(FrontDoor, ReceivingABodyCostsCpuInProportionToItsSize) {
    start({"--max-body-size", "128MiB"});
    auto post_cpu = [&](uint64_t size, int times) {
        const std::string body(size, 'b');
        const double before = cpu_seconds(server_->pid());
        for (int i = 0; i < times; ++i) {
            auto response = http_request(port(), "POST", "/index.html", {}, body);
            EXPECT_TRUE(response && response->status == 405);
        }
        return cpu_seconds(server_->pid()) - before;
    };
    const double small = post_cpu(4 * kMiB, 16);
    const double large = post_cpu(64 * kMiB, 1);
    // 0.05 s covers the clock tick (10 ms) on either side.
    EXPECT_LT(large, 3 * small + 0.05) << "16 x 4 MiB: " << small << " s, 64 MiB: " << large;
}

// Holds `count` bodies open (head and part of the body sent, Expect answered), then asks for
// one more; the budget of two bodies makes the third wait for none of them.
TEST_F(FrontDoor, TheBodyMemoryBudgetRefusesNewBodiesWith503AndRetryAfter) {
    start({"--max-body-memory", "1MiB", "--body-spool-threshold", "512KiB"});
    const std::string head =
        "POST /cgi-bin/t HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: "
        "400000\r\n\r\n";
    std::vector<std::unique_ptr<HttpConnection>> holders;
    for (int i = 0; i < 2; ++i) {
        holders.push_back(std::make_unique<HttpConnection>(port()));
        holders.back()->send_raw(head);
        auto interim = holders.back()->read_response();
        ASSERT_TRUE(interim);
        ASSERT_EQ(interim->status, 100);
        holders.back()->send_raw(std::string(1000, 'x'));
    }
    HttpConnection third(port());
    third.send_raw(head);
    auto refused = third.read_response();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 503);
    EXPECT_EQ(refused->header("Retry-After"), "1");
    holders.clear();  // their memory comes back: a new body is taken again
    ASSERT_TRUE(wait_until(
        [&] {
            auto response = http_request(port(), "POST", "/cgi-bin/t?body-sha256", {},
                                         std::string(400000, 'y'));
            return response && response->status == 200;
        },
        10s));
}

TEST_F(FrontDoor, AFastStartCannotBankTimeForATrickle) {
    start({"--body-timeout", "2", "--body-min-rate", "1000"});
    HttpConnection connection(port());
    connection.send_raw("POST /cgi-bin/t HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                        std::to_string(2 * kMiB) + "\r\n\r\n" + std::string(kMiB, 'f'));
    // 1 MiB earns over 1,000 s at 1,000 bytes/s; only 2 s of slack may be banked.
    const auto started = Clock::now();
    while (!readable(connection.fd(), 500ms) && Clock::now() - started < 30s)
        connection.send_raw("x");
    auto response = connection.read_response();
    ASSERT_TRUE(response) << "the trickle was still accepted after 30 s";
    EXPECT_EQ(response->status, 408);
    EXPECT_GE(seconds_since(started), 1.5);  // and not before the slack ran out
}

TEST_F(FrontDoor, AClientThatSendsItsWholeBodyFirstReceivesThe413) {
    start({"--max-body-size", "1MiB"});
    for (bool chunked : {false, true}) {
        const std::string data(8 * kMiB, 'z');
        HttpConnection connection(port());
        if (chunked) {
            connection.send_raw(
                "POST /cgi-bin/t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
        } else {
            connection.send_raw("POST /cgi-bin/t HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                std::to_string(data.size()) + "\r\n\r\n");
        }
        std::string body = chunked ? "800000\r\n" + data + "\r\n0\r\n\r\n" : data;
        // Like git or Python requests: write everything, only then read.
        size_t sent = 0;
        const auto guard = Clock::now() + 60s;
        while (sent < body.size() && Clock::now() < guard)
            sent += send_some(connection.fd(), std::string_view(body).substr(sent), 100ms);
        EXPECT_EQ(sent, body.size()) << (chunked ? "chunked" : "Content-Length");
        auto response = connection.read_response();
        ASSERT_TRUE(response) << (chunked ? "chunked" : "Content-Length") << ": no answer";
        EXPECT_EQ(response->status, 413);
    }
    EXPECT_NE(server_->access_log().find("\" 413 "), std::string::npos) << server_->access_log();
}

TEST_F(FrontDoor, ExpectContinueBeyondTheLimitIsAnsweredBeforeTheBody) {
    start({"--max-body-size", "1MiB"});
    HttpConnection connection(port());
    connection.send_raw(
        "PUT /cgi-bin/t HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 70000000"
        "\r\n\r\n");
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 413);
}

TEST_F(FrontDoor, UploadsBeyondTheSpoolThresholdKeepServerMemoryFlat) {
    start_without_quarantine({"--body-spool-threshold", "64KiB"});
    ASSERT_EQ(get("/cgi-bin/t?body=warm")->status, 200);
    const uint64_t peak_before = peak_resident_bytes(server_->pid());
    std::string body(20 * kMiB, '\0');  // in memory before the fix: the growth would be it all
    for (size_t i = 0; i < body.size(); ++i)
        body[i] = static_cast<char>(i * 2654435761U >> 24U);
    auto response = http_request(port(), "POST", "/cgi-bin/t?body-sha256", {}, body);
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200);
    auto lines = parse_lines(response->body);
    EXPECT_EQ(lines["length"], std::to_string(body.size()));
    EXPECT_EQ(lines["sha256"], sha256_hex(body));
    const uint64_t growth = peak_resident_bytes(server_->pid()) - peak_before;
    EXPECT_LT(growth, 16 * kMiB) << "the peak RSS grew by " << growth / kMiB << " MiB";
}

TEST_F(FrontDoor, ABodyOnHeadNeverBecomesASecondRequest) {
    start();
    const std::string smuggled = "GET /cgi-bin/t?body=smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string reply =
        exchange_raw("HEAD /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                     std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled);
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
    EXPECT_EQ(reply.find("HTTP/1.1", 1), std::string::npos) << "a second response: " << reply;
    EXPECT_EQ(reply.find("smuggled"), std::string::npos);
}

}  // namespace
}  // namespace cgihost::testing
