// NphRelay: an nph- script's bytes written unparsed to a duplicate of the client's socket,
// here one end of a socketpair with the test reading the other end as the client.
#include "cgi/nph_relay.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cgihost {
namespace {

using Progress = NphRelay::Progress;
using namespace std::string_literals;

class NphRelayTest : public ::testing::Test {
  protected:
    void SetUp() override {
        signal(SIGPIPE, SIG_IGN);  // as in the server: a departed client is an EPIPE
        int fds[2];
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        server_.reset(fds[0]);
        client_.reset(fds[1]);
    }

    bool start(size_t max_pending = 1024) {
        return relay_.start(base_.get(), server_.get(), max_pending,
                            [this](Progress progress) { heard_.push_back(progress); });
    }

    // What the client can read now.
    std::string receive() {
        std::string received;
        char buffer[65536];
        ssize_t n;
        while ((n = ::read(client_.get(), buffer, sizeof buffer)) > 0) {
            received.append(buffer, static_cast<size_t>(n));
        }
        return received;
    }

    void run_loop_once() { event_base_loop(base_.get(), EVLOOP_NONBLOCK); }

    EventBasePtr base_{event_base_new()};
    UniqueFd server_;  // the socket evhttp owns
    UniqueFd client_;
    NphRelay relay_;
    std::vector<Progress> heard_;
};

TEST_F(NphRelayTest, WritesTheScriptsBytesUntouched) {
    ASSERT_TRUE(start());
    const std::string bytes = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\0x"s;
    EXPECT_EQ(relay_.send(bytes.data(), bytes.size()), Progress::flowing);
    EXPECT_EQ(receive(), bytes);
    EXPECT_TRUE(relay_.open());
}

TEST_F(NphRelayTest, ClosesOnceTheOutputIsOverAndDelivered) {
    ASSERT_TRUE(start());
    EXPECT_EQ(relay_.send("abc", 3), Progress::flowing);
    relay_.end_input();
    EXPECT_EQ(relay_.flush(), Progress::closed);
    EXPECT_FALSE(relay_.open());
    EXPECT_EQ(receive(), "abc");
}

TEST_F(NphRelayTest, LeavesTheOriginalSocketOpenWhenItCloses) {
    ASSERT_TRUE(start());
    relay_.close();
    EXPECT_FALSE(relay_.open());
    EXPECT_NE(::fcntl(server_.get(), F_GETFD), -1);
}

TEST_F(NphRelayTest, AsksToStopReadingWhileTheClientLagsThenDrainsWhenItReads) {
    ASSERT_TRUE(start());
    std::string sent;
    Progress progress = Progress::flowing;
    for (int i = 0; progress == Progress::flowing && i < 10000; ++i) {
        std::string piece(4096, static_cast<char>('a' + i % 26));
        progress = relay_.send(piece.data(), piece.size());
        sent += piece;
    }
    ASSERT_EQ(progress, Progress::backed_up);

    relay_.end_input();
    std::string received;
    for (int turn = 0; relay_.open() && turn < 10000; ++turn) {
        received += receive();
        run_loop_once();
    }
    received += receive();
    EXPECT_FALSE(relay_.open());
    ASSERT_FALSE(heard_.empty());
    EXPECT_EQ(heard_.back(), Progress::closed);
    EXPECT_EQ(received.size(), sent.size());
    EXPECT_TRUE(received == sent);
}

TEST_F(NphRelayTest, ClosesWhenTheClientIsGone) {
    ASSERT_TRUE(start());
    client_.reset();
    EXPECT_EQ(relay_.send("abc", 3), Progress::closed);
    EXPECT_FALSE(relay_.open());
}

TEST_F(NphRelayTest, DoesNotStartWithoutASocketToDuplicate) {
    EXPECT_FALSE(relay_.start(base_.get(), -1, 1024, [](Progress) {}));
    EXPECT_FALSE(relay_.open());
}

}  // namespace
}  // namespace cgihost
