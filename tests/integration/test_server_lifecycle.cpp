// The server as a process: persistent and concurrent connections, request limits, signals
// (graceful shutdown, log reopening), the access log, and refusing a bad configuration.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "test_server.hpp"

namespace cgihost::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kIndex = "<h1>home</h1>\n";

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

// Polls `path` until it has at least `count` lines (the access log is flushed every 200 ms).
std::vector<std::string> wait_for_lines(const std::filesystem::path& path, size_t count,
                                        std::chrono::milliseconds timeout = kHangGuard) {
    auto deadline = Clock::now() + timeout;
    std::vector<std::string> lines = lines_of(read_file(path));
    while (lines.size() < count && Clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
        lines = lines_of(read_file(path));
    }
    return lines;
}

bool wait_for_file(const std::filesystem::path& path,
                   std::chrono::milliseconds timeout = kHangGuard) {
    auto deadline = Clock::now() + timeout;
    while (!std::filesystem::exists(path)) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

// True while `pid` runs (not yet exited, not a zombie).
bool is_running(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    auto close_paren = line.rfind(')');
    return close_paren != std::string::npos && close_paren + 2 < line.size() &&
           line[close_paren + 2] != 'Z';
}

bool can_connect(uint16_t port, const std::string& host = "127.0.0.1") {
    HttpConnection connection(port, host);
    return connection.connected();
}

// One line on stderr that says what is wrong, and nothing on stdout.
void expect_one_error_line(const ProcessResult& result, const std::string& naming) {
    EXPECT_EQ(result.exit_status, 2) << result.err;
    EXPECT_EQ(result.out, "");
    ASSERT_FALSE(result.err.empty());
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_EQ(result.err.back(), '\n') << result.err;
    EXPECT_EQ(result.err.rfind("cgihost: error: ", 0), 0u) << result.err;
    EXPECT_NE(result.err.find(naming), std::string::npos) << result.err;
}

// The fields of one Combined Log Format line, quoted ones still escaped.
struct CombinedLine {
    std::string host, ident, user, time, request, status, bytes, referer, user_agent;
};

// Reads `%h %l %u [%t] "%r" %>s %b "%{Referer}i" "%{User-agent}i"`; nullopt when malformed.
std::optional<CombinedLine> parse_combined_line(const std::string& text) {
    CombinedLine line;
    size_t at = 0;
    auto word = [&](std::string& out) {
        size_t end = text.find(' ', at);
        if (end == std::string::npos || end == at) return false;
        out = text.substr(at, end - at);
        at = end + 1;
        return true;
    };
    auto bracketed = [&](std::string& out) {
        size_t end = text.find("] ", at);
        if (text.compare(at, 1, "[") != 0 || end == std::string::npos) return false;
        out = text.substr(at + 1, end - at - 1);
        at = end + 2;
        return true;
    };
    auto quoted = [&](std::string& out) {
        if (text.compare(at, 1, "\"") != 0) return false;
        size_t end = at + 1;
        while (end < text.size() && text[end] != '"')
            end += text[end] == '\\' ? 2 : 1;
        if (end >= text.size()) return false;
        out = text.substr(at + 1, end - at - 1);
        at = end + 1;
        if (at < text.size() && text[at] == ' ') ++at;
        return true;
    };
    if (!word(line.host) || !word(line.ident) || !word(line.user) || !bracketed(line.time) ||
        !quoted(line.request) || !word(line.status) || !word(line.bytes) || !quoted(line.referer) ||
        !quoted(line.user_agent) || at != text.size()) {
        return std::nullopt;
    }
    return line;
}

class ServerLifecycle : public ::testing::Test {
  protected:
    void SetUp() override {
        root_.write_file("www/index.html", kIndex);
        std::filesystem::create_directories(root_ / "cgi-bin");
    }

    // The arguments every server here gets, plus `extra`.
    std::vector<std::string> args(std::vector<std::string> extra = {}) const {
        std::vector<std::string> all = {"--docroot", (root_ / "www").string(), "--cgi-dir",
                                        (root_ / "cgi-bin").string()};
        all.insert(all.end(), extra.begin(), extra.end());
        return all;
    }

    // args() with every idle timeout but those in `extra` beyond the hang guard (kHangGuard),
    // so a connection closed within it was closed by the behaviour under test.
    std::vector<std::string> args_without_idle_timeouts(std::vector<std::string> extra = {}) const {
        std::vector<std::string> all = args(std::move(extra));
        for (const char* flag :
             {"--keep-alive-timeout", "--read-timeout", "--header-timeout", "--write-timeout"}) {
            if (std::find(all.begin(), all.end(), flag) == all.end()) {
                all.insert(all.end(), {flag, "600"});
            }
        }
        return all;
    }

    // Waits until the server logged that a stop signal arrived: from then on it drains.
    static bool wait_until_draining(const TestServer& server) {
        auto deadline = Clock::now() + kHangGuard;
        while (server.error_log().find("finishing in-flight requests") == std::string::npos) {
            if (Clock::now() >= deadline) return false;
            std::this_thread::sleep_for(20ms);
        }
        return true;
    }

    TempDir root_;
};

// ---- connections ----

TEST_F(ServerLifecycle, KeepsOneConnectionAliveForAHundredRequests) {
    TestServer server(args());
    HttpConnection connection(server.port());
    for (int i = 0; i < 100; ++i) {
        auto response = connection.request("GET", "/index.html?n=" + std::to_string(i));
        ASSERT_TRUE(response) << "request " << i;
        EXPECT_EQ(response->status, 200) << "request " << i;
        EXPECT_EQ(response->body, kIndex);
        ASSERT_FALSE(response->closed) << "closed after request " << i;
    }
}

TEST_F(ServerLifecycle, ServesFiftyConcurrentClients) {
    TestServer server(args());
    constexpr int kClients = 50;
    constexpr int kRequestsEach = 5;
    std::atomic<int> ok{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
        clients.emplace_back([&] {
            HttpConnection connection(server.port());
            for (int i = 0; i < kRequestsEach; ++i) {
                auto response = connection.request("GET", "/index.html");
                if (response && response->status == 200 && response->body == kIndex) ++ok;
            }
        });
    }
    for (auto& client : clients)
        client.join();
    EXPECT_EQ(ok.load(), kClients * kRequestsEach);
}

TEST_F(ServerLifecycle, ClosesAnHttp10ConnectionAfterTheResponse) {
    TestServer server(args_without_idle_timeouts());
    HttpConnection connection(server.port());
    connection.send_raw("GET /index.html HTTP/1.0\r\n\r\n");
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, kIndex);
    EXPECT_TRUE(connection.wait_closed());
}

TEST_F(ServerLifecycle, ClosesAConnectionThatAskedForIt) {
    TestServer server(args_without_idle_timeouts());
    HttpConnection connection(server.port());
    auto response = connection.request("GET", "/index.html", {{"Connection", "close"}});
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(connection.wait_closed());
}

// Only the timeout under test is shorter than the hang guard: a close within it is that
// timeout's, and comes no earlier than it (later under load, which proves nothing wrong).
TEST_F(ServerLifecycle, ClosesAnIdleConnectionAfterTheKeepAliveTimeout) {
    TestServer server(args_without_idle_timeouts({"--keep-alive-timeout", "0.5"}));
    HttpConnection connection(server.port());
    ASSERT_TRUE(connection.request("GET", "/index.html"));
    auto start = Clock::now();
    EXPECT_TRUE(connection.wait_closed());
    EXPECT_GE(Clock::now() - start, 400ms);
}

TEST_F(ServerLifecycle, ClosesAConnectionWhoseRequestStallsAfterTheReadTimeout) {
    TestServer server(args_without_idle_timeouts({"--read-timeout", "0.5"}));
    HttpConnection connection(server.port());
    auto start = Clock::now();
    connection.send_raw("GET /index.html HTTP/1.1\r\nHost: x\r\n");  // never finished
    EXPECT_TRUE(connection.wait_closed());
    EXPECT_GE(Clock::now() - start, 400ms);
}

// ---- malformed and oversized requests ----

TEST_F(ServerLifecycle, AnswersAMalformedRequestLineWith400) {
    TestServer server(args());
    for (const char* bytes : {"GARBAGE\r\n\r\n", "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
                              "GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"}) {
        HttpConnection connection(server.port());
        connection.send_raw(bytes);
        auto response = connection.read_response();
        ASSERT_TRUE(response) << bytes;
        EXPECT_EQ(response->status, 400) << bytes;
    }
}

TEST_F(ServerLifecycle, AnswersHttp11WithoutHostWith400) {
    TestServer server(args());
    HttpConnection connection(server.port());
    connection.send_raw("GET /index.html HTTP/1.1\r\n\r\n");
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400);
}

TEST_F(ServerLifecycle, AnswersAnOversizedUriWith414) {
    TestServer server(args({"--max-uri-size", "1024"}));
    auto within = http_get(server.port(), "/index.html?" + std::string(1000, 'a'));
    ASSERT_TRUE(within);
    EXPECT_EQ(within->status, 200);
    auto response = http_get(server.port(), "/index.html?" + std::string(2000, 'a'));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 414);
}

TEST_F(ServerLifecycle, AnswersOversizedHeadersWith431) {
    TestServer server(args({"--max-header-size", "2048"}));
    auto within = http_get(server.port(), "/index.html", {{"X-Filler", std::string(1500, 'x')}});
    ASSERT_TRUE(within);
    EXPECT_EQ(within->status, 200);
    // Above the limit but below evhttp's own cutoff at four times it.
    auto response = http_get(server.port(), "/index.html", {{"X-Filler", std::string(5000, 'x')}});
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 431);
}

TEST_F(ServerLifecycle, AnswersABodyOverTheLimitWith413) {
    TestServer server(args({"--max-body-size", "1024"}));
    auto within = http_request(server.port(), "POST", "/index.html", {}, std::string(1024, 'b'));
    ASSERT_TRUE(within);
    EXPECT_EQ(within->status, 405);  // allowed through to the static handler
    auto response = http_request(server.port(), "POST", "/index.html", {}, std::string(4096, 'b'));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 413);
}

TEST_F(ServerLifecycle, AnswersAChunkedBodyOverTheLimitWith413) {
    TestServer server(args({"--max-body-size", "1024"}));
    HttpConnection connection(server.port());
    std::string chunk(800, 'c');
    connection.send_raw(
        "POST /index.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "320\r\n" +
        chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 413);
}

// RFC 9112 §6.3: framing a proxy could read differently is refused and the connection closed.
TEST_F(ServerLifecycle, RefusesAmbiguousFramingWith400AndCloses) {
    TestServer server(args());
    for (const char* bytes : {"POST /index.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                              "chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
                              "GET /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                              "Content-Length: 2\r\n\r\nab",
                              "GET /index.html HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"}) {
        HttpConnection connection(server.port());
        connection.send_raw(bytes);
        auto response = connection.read_response();
        ASSERT_TRUE(response) << bytes;
        EXPECT_EQ(response->status, 400) << bytes;
        EXPECT_TRUE(connection.wait_closed()) << bytes;
    }
}

TEST_F(ServerLifecycle, AnswersAnUnknownTransferCodingWith501) {
    TestServer server(args());
    HttpConnection connection(server.port());
    connection.send_raw("POST /index.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n");
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 501);
    EXPECT_TRUE(connection.wait_closed());
}

// ---- signals ----

// A connection whose small receive buffer keeps a large download in flight for a while.
class SlowReader {
  public:
    SlowReader(uint16_t port, const std::string& target) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int small = 16 * 1024;
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
        std::string request = "GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n";
        connected_ = connected_ && ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) ==
                                       static_cast<ssize_t>(request.size());
    }
    ~SlowReader() { ::close(fd_); }
    SlowReader(const SlowReader&) = delete;
    SlowReader& operator=(const SlowReader&) = delete;

    bool connected() const { return connected_; }
    // Reads up to `limit` more bytes (head included), `step` at a time; stops early at EOF or
    // when nothing arrives for a hang guard. Returns the bytes read by this call.
    size_t read(size_t limit, size_t step) {
        std::vector<char> buffer(step);
        size_t total = 0;
        while (total < limit) {
            pollfd pfd{fd_, POLLIN, 0};
            const auto guard = std::chrono::milliseconds(kHangGuard).count();
            if (::poll(&pfd, 1, static_cast<int>(guard)) <= 0) break;
            ssize_t n = ::recv(fd_, buffer.data(), std::min(step, limit - total), 0);
            if (n <= 0) break;
            received_.append(buffer.data(), static_cast<size_t>(n));
            total += static_cast<size_t>(n);
        }
        return total;
    }
    const std::string& received() const { return received_; }

  private:
    int fd_ = -1;
    bool connected_ = false;
    std::string received_;
};

constexpr size_t kBigSize = 16 * 1024 * 1024;

std::string big_content() {
    std::string content(kBigSize, '\0');
    for (size_t i = 0; i < content.size(); ++i)
        content[i] = static_cast<char>('a' + i % 23);
    return content;
}

// The grace lies beyond the hang guard, so however slowly the download goes on a loaded
// machine, only its end can let the server exit.
TEST_F(ServerLifecycle, FinishesAnInFlightDownloadAfterSigtermThenExitsZero) {
    const std::string content = big_content();
    root_.write_file("www/big.bin", content);
    TestServer server(args({"--shutdown-grace", "600"}));
    SlowReader reader(server.port(), "/big.bin");
    ASSERT_TRUE(reader.connected());
    ASSERT_EQ(reader.read(64 * 1024, 4096), 64u * 1024);

    ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until_draining(server)) << "SIGTERM was not logged";
    std::this_thread::sleep_for(300ms);
    EXPECT_TRUE(is_running(server.pid())) << "exited with a download in flight";

    reader.read(kBigSize + 4096, 16 * 1024);
    const std::string& received = reader.received();
    auto head_end = received.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos);
    EXPECT_EQ(received.rfind("HTTP/1.1 200", 0), 0u);
    ASSERT_EQ(received.size() - head_end - 4, kBigSize);
    EXPECT_TRUE(received.compare(head_end + 4, std::string::npos, content) == 0);

    uint16_t port = server.port();
    EXPECT_EQ(server.stop(SIGTERM), 0);
    EXPECT_FALSE(can_connect(port));
}

TEST_F(ServerLifecycle, StopsAcceptingAsSoonAsSigtermArrives) {
    root_.write_file("www/big.bin", big_content());
    TestServer server(args({"--shutdown-grace", "600"}));
    SlowReader reader(server.port(), "/big.bin");  // keeps the server draining
    ASSERT_TRUE(reader.connected());
    ASSERT_GT(reader.read(4096, 4096), 0u);
    ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
    // The line is logged before the listeners close, but flushed only after (every 200 ms).
    ASSERT_TRUE(wait_until_draining(server)) << "SIGTERM was not logged";
    ASSERT_TRUE(is_running(server.pid()));
    HttpConnection late(server.port());
    if (late.connected()) {
        late.send_raw("GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n");
        // Two seconds of not being served: load can only delay a wrong answer, never hasten it.
        auto response = late.read_response(false, 2s);
        EXPECT_FALSE(response && response->status == 200) << "served a request while draining";
    }
    reader.read(kBigSize + 4096, 64 * 1024);
    EXPECT_EQ(server.stop(SIGTERM), 0);
}

// The grace lies beyond the hang guard: an exit within it did not wait for the grace.
TEST_F(ServerLifecycle, ExitsOnSigtermWithOnlyIdleConnectionsWithoutWaitingForTheGrace) {
    TestServer server(args({"--shutdown-grace", "600"}));
    HttpConnection idle(server.port());
    auto response = idle.request("GET", "/index.html");
    ASSERT_TRUE(response);
    EXPECT_EQ(server.stop(SIGTERM), 0) << "still running a hang guard after SIGTERM";
    EXPECT_TRUE(idle.wait_closed());
}

// The write timeout lies beyond the hang guard, so only the grace can end the stuck download;
// it may end it late under load, never before the grace.
TEST_F(ServerLifecycle, GivesUpOnAStuckDownloadAfterTheShutdownGrace) {
    root_.write_file("www/big.bin", big_content());
    TestServer server(args({"--shutdown-grace", "1", "--write-timeout", "600"}));
    SlowReader reader(server.port(), "/big.bin");  // never reads past the first bytes
    ASSERT_TRUE(reader.connected());
    ASSERT_GT(reader.read(4096, 4096), 0u);
    auto start = Clock::now();
    EXPECT_EQ(server.stop(SIGTERM), 0) << "still running a hang guard after SIGTERM";
    EXPECT_GE(Clock::now() - start, 900ms);
}

TEST_F(ServerLifecycle, ExitsZeroOnSigint) {
    TestServer server(args());
    ASSERT_TRUE(http_get(server.port(), "/"));
    uint16_t port = server.port();
    EXPECT_EQ(server.stop(SIGINT), 0);
    EXPECT_FALSE(can_connect(port));
}

// Moves the access log away as logrotate does, sends `signal_number`, and checks that the next
// request lands in a new file while the moved one keeps the earlier request only.
void rotate_access_log_with(TestServer& server, int signal_number) {
    auto log = server.log_dir() / "access.log";
    auto rotated = server.log_dir() / "access.log.1";
    ASSERT_TRUE(http_get(server.port(), "/index.html?before-rotation"));
    ASSERT_EQ(wait_for_lines(log, 1).size(), 1u);
    std::filesystem::rename(log, rotated);

    ASSERT_EQ(::kill(server.pid(), signal_number), 0);
    ASSERT_TRUE(wait_for_file(log)) << "no new access log after signal " << signal_number;
    ASSERT_TRUE(http_get(server.port(), "/index.html?after-rotation"));
    auto lines = wait_for_lines(log, 1);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("after-rotation"), std::string::npos) << lines[0];
    std::string old = read_file(rotated);
    EXPECT_NE(old.find("before-rotation"), std::string::npos) << old;
    EXPECT_EQ(old.find("after-rotation"), std::string::npos) << old;
    EXPECT_TRUE(is_running(server.pid())) << "signal " << signal_number << " must not stop it";
}

TEST_F(ServerLifecycle, ReopensTheAccessLogOnSighup) {
    TestServer server(args());
    rotate_access_log_with(server, SIGHUP);
    EXPECT_EQ(server.stop(SIGTERM), 0);
}

// logrotate's signal: the logs are reopened and nothing else is read again.
TEST_F(ServerLifecycle, ReopensTheLogsOnSigusr1WithoutReloading) {
    TestServer server(args());
    rotate_access_log_with(server, SIGUSR1);
    const std::string errors = server.error_log();
    EXPECT_NE(errors.find("log files reopened on SIGUSR1"), std::string::npos) << errors;
    EXPECT_EQ(errors.find("reload"), std::string::npos) << errors;
    EXPECT_EQ(server.stop(SIGTERM), 0);
}

TEST_F(ServerLifecycle, WritesOneCombinedLogLinePerRequest) {
    TestServer server(args());
    HttpConnection connection(server.port());
    ASSERT_TRUE(connection.request(
        "GET", "/index.html",
        {{"User-Agent", "lifecycle \"test\"/1.0"}, {"Referer", "http://ref.example/page"}}));
    ASSERT_TRUE(connection.request("GET", "/missing.txt"));
    ASSERT_TRUE(connection.request("HEAD", "/index.html"));
    auto lines = wait_for_lines(server.log_dir() / "access.log", 3);
    std::this_thread::sleep_for(300ms);  // anything extra would have been flushed by now
    lines = lines_of(read_file(server.log_dir() / "access.log"));
    ASSERT_EQ(lines.size(), 3u) << read_file(server.log_dir() / "access.log");

    struct Expected {
        const char* request;
        const char* status;
        std::string bytes;
        const char* referer;
        const char* agent;
    };
    const Expected expected[] = {
        {"GET /index.html HTTP/1.1", "200", std::to_string(std::string(kIndex).size()),
         "http://ref.example/page", R"(lifecycle \"test\"/1.0)"},
        {"GET /missing.txt HTTP/1.1", "404", "", "-", "-"},
        {"HEAD /index.html HTTP/1.1", "200", "-", "-", "-"},
    };
    for (size_t i = 0; i < lines.size(); ++i) {
        SCOPED_TRACE(lines[i]);
        auto line = parse_combined_line(lines[i]);
        ASSERT_TRUE(line);
        EXPECT_EQ(line->host, "127.0.0.1");
        EXPECT_EQ(line->ident, "-");
        EXPECT_EQ(line->user, "-");
        EXPECT_EQ(line->time.size(), 26u);
        EXPECT_EQ(line->time.substr(20), " +0000");
        EXPECT_EQ(line->request, expected[i].request);
        EXPECT_EQ(line->status, expected[i].status);
        if (!expected[i].bytes.empty()) {
            EXPECT_EQ(line->bytes, expected[i].bytes);
        }
        EXPECT_NE(line->bytes, "0");
        EXPECT_EQ(line->referer, expected[i].referer);
        EXPECT_EQ(line->user_agent, expected[i].agent);
    }
}

// ---- configuration errors ----

TEST_F(ServerLifecycle, RefusesAnUnknownFlagWithOneLineAndStatus2) {
    expect_one_error_line(run_cgihost(args({"--no-such-flag"})), "--no-such-flag");
}

TEST_F(ServerLifecycle, RefusesAnUnknownConfigKeyWithOneLineAndStatus2) {
    auto file = root_.write_file("cgihost.toml", "threads = 1\nbogus-key = 1\n");
    expect_one_error_line(run_cgihost(args({"--config", file.string()})), "bogus-key");
}

TEST_F(ServerLifecycle, RefusesAMissingDocrootWithOneLineAndStatus2) {
    expect_one_error_line(
        run_cgihost({"--docroot", (root_ / "nowhere").string(), "--listen", "127.0.0.1:0"}),
        "--docroot");
}

TEST_F(ServerLifecycle, RefusesAnUnreadableDocrootWithOneLineAndStatus2) {
    if (::geteuid() == 0) GTEST_SKIP() << "root can read any directory";
    std::filesystem::create_directories(root_ / "locked");
    std::filesystem::permissions(root_ / "locked", std::filesystem::perms::none);
    expect_one_error_line(
        run_cgihost({"--docroot", (root_ / "locked").string(), "--listen", "127.0.0.1:0"}),
        "--docroot");
}

TEST_F(ServerLifecycle, RefusesAPortInUseWithOneLineAndStatus2) {
    int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(holder, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    socklen_t length = sizeof sa;
    ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::listen(holder, 1), 0);
    ASSERT_EQ(::getsockname(holder, reinterpret_cast<sockaddr*>(&sa), &length), 0);
    std::string address = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
    auto result = run_cgihost(args({"--listen", address}));
    ::close(holder);
    expect_one_error_line(result, address);
}

TEST_F(ServerLifecycle, PrintsHelpAndExitsZero) {
    auto result = run_cgihost({"--help"});
    EXPECT_EQ(result.exit_status, 0);
    EXPECT_EQ(result.err, "");
    for (const char* option : {"--listen", "--docroot", "--config", "--max-body-size"}) {
        EXPECT_NE(result.out.find(option), std::string::npos) << option;
    }
}

// ---- IPv6 ----

bool has_ipv6_loopback() {
    int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_loopback;
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    return ok;
}

TEST_F(ServerLifecycle, ListensOnIpv6Loopback) {
    if (!has_ipv6_loopback()) GTEST_SKIP() << "the kernel has no IPv6 loopback";
    TestServer server(args({"--listen", "[::1]:0"}));
    EXPECT_EQ(server.host(), "::1");
    HttpConnection connection(server.port(), "::1");
    ASSERT_TRUE(connection.connected());
    auto response = connection.request("GET", "/index.html", {{"Host", "[::1]"}});
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, kIndex);
    auto lines = wait_for_lines(server.log_dir() / "access.log", 1);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].rfind("::1 - - [", 0), 0u) << lines[0];
}

}  // namespace
}  // namespace cgihost::testing
