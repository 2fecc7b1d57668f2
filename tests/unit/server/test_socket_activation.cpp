// The checks and the sharing behind socket activation, on real sockets of this process.
// take_passed_listeners itself (LISTEN_PID must be the server's pid) is exercised by
// tests/integration/test_systemd.cpp through systemd-socket-activate.
#include "server/socket_activation.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <string>

namespace cgihost {
namespace {

UniqueFd loopback_socket(int type, bool listening) {
    UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    if (listening) {
        EXPECT_EQ(::listen(fd.get(), 16), 0);
    }
    return fd;
}

uint16_t port_of(int fd) {
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    return ntohs(sa.sin_port);
}

TEST(SocketActivation, OnlyTheNameHttpsMeansTls) {
    EXPECT_TRUE(is_tls_socket_name("https"));
    for (const char* name : {"http", "tls", "HTTPS", "https2", "", "unknown"})
        EXPECT_FALSE(is_tls_socket_name(name)) << name;
}

TEST(SocketActivation, AcceptsAListeningTcpSocket) {
    UniqueFd fd = loopback_socket(SOCK_STREAM, true);
    EXPECT_EQ(check_passed_socket(fd.get()), "");
}

TEST(SocketActivation, AcceptsAListeningIpv6Socket) {
    UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_loopback;
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        GTEST_SKIP() << "no IPv6 loopback here";
    }
    ASSERT_EQ(::listen(fd.get(), 1), 0);
    EXPECT_EQ(check_passed_socket(fd.get()), "");
}

TEST(SocketActivation, RefusesWhatIsNoListeningTcpSocket) {
    UniqueFd unlistened = loopback_socket(SOCK_STREAM, false);
    EXPECT_EQ(check_passed_socket(unlistened.get()),
              "is not listening (a socket unit with Accept=no passes listening sockets)");
    UniqueFd datagram = loopback_socket(SOCK_DGRAM, false);
    EXPECT_EQ(check_passed_socket(datagram.get()), "is not a stream (TCP) socket");
    int pipe_ends[2];
    ASSERT_EQ(::pipe2(pipe_ends, O_CLOEXEC), 0);
    UniqueFd read_end(pipe_ends[0]);
    UniqueFd write_end(pipe_ends[1]);
    EXPECT_EQ(check_passed_socket(read_end.get()), "is not a socket");
    UniqueFd unix_socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const sa_family_t family = AF_UNIX;  // an address of just the family: an abstract autobind
    ASSERT_EQ(::bind(unix_socket.get(), reinterpret_cast<const sockaddr*>(&family), sizeof family),
              0);
    ASSERT_EQ(::listen(unix_socket.get(), 1), 0);
    EXPECT_EQ(check_passed_socket(unix_socket.get()),
              "is not an IPv4 or IPv6 socket (CGI needs REMOTE_ADDR and SERVER_PORT)");
    EXPECT_EQ(check_passed_socket(-1).rfind("is unusable: ", 0), 0U);
}

TEST(SocketActivation, EveryWorkerGetsItsOwnDescriptorOfTheOneQueue) {
    UniqueFd passed = loopback_socket(SOCK_STREAM, true);
    const uint16_t port = port_of(passed.get());
    auto adopted = adopt_passed_socket(passed.release(), true, 3);
    ASSERT_TRUE(std::holds_alternative<Listener>(adopted)) << std::get<std::string>(adopted);
    const Listener& listener = std::get<Listener>(adopted);
    EXPECT_TRUE(listener.tls);
    EXPECT_EQ(listener.address.host, "127.0.0.1");
    EXPECT_EQ(listener.address.port, port);
    ASSERT_EQ(listener.sockets.size(), 3U);
    std::set<int> descriptors;
    for (const auto& socket : listener.sockets) {
        descriptors.insert(socket.get());
        EXPECT_EQ(port_of(socket.get()), port);
        EXPECT_NE(::fcntl(socket.get(), F_GETFL) & O_NONBLOCK, 0);
        EXPECT_NE(::fcntl(socket.get(), F_GETFD) & FD_CLOEXEC, 0);
    }
    EXPECT_EQ(descriptors.size(), 3U);
    // A connection made to the port is there to accept through any of them, once.
    UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    UniqueFd accepted(::accept4(listener.sockets[2].get(), nullptr, nullptr, SOCK_CLOEXEC));
    EXPECT_TRUE(accepted.valid());
    UniqueFd again(::accept4(listener.sockets[0].get(), nullptr, nullptr, SOCK_CLOEXEC));
    EXPECT_FALSE(again.valid());
    EXPECT_EQ(errno, EAGAIN);
}

}  // namespace
}  // namespace cgihost
