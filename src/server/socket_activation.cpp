#include "server/socket_activation.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace cgihost {
namespace {

int socket_option(int fd, int option, int& value) {
    socklen_t len = sizeof value;
    return ::getsockopt(fd, SOL_SOCKET, option, &value, &len);
}

// The numeric host and port the socket is bound to.
ListenAddress local_address(int fd) {
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    ListenAddress address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return address;
    char host[NI_MAXHOST] = {};
    char port[NI_MAXSERV] = {};
    if (::getnameinfo(reinterpret_cast<sockaddr*>(&sa), len, host, sizeof host, port, sizeof port,
                      NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        address.host = host;
        address.port = static_cast<uint16_t>(std::atoi(port));
    }
    return address;
}

std::string describe_passed(int fd, const char* name) {
    return "socket activation: descriptor " + std::to_string(fd) + " (FileDescriptorName '" + name +
           "')";
}

// sd_listen_fds_with_names's names, freed with the array.
struct PassedNames {
    char** names = nullptr;
    ~PassedNames() {
        if (names == nullptr) return;
        for (char** name = names; *name != nullptr; ++name)
            std::free(*name);  // NOLINT(cppcoreguidelines-no-malloc)
        std::free(names);      // NOLINT(cppcoreguidelines-no-malloc)
    }
};

}  // namespace

bool is_tls_socket_name(std::string_view name) {
    return name == kTlsSocketName;
}

std::string check_passed_socket(int fd) {
    int type = 0;
    int listening = 0;
    int domain = 0;
    if (socket_option(fd, SO_TYPE, type) != 0) {
        return errno == ENOTSOCK ? "is not a socket"
                                 : std::string("is unusable: ") + std::strerror(errno);
    }
    if (type != SOCK_STREAM) return "is not a stream (TCP) socket";
    if (socket_option(fd, SO_DOMAIN, domain) != 0 || (domain != AF_INET && domain != AF_INET6)) {
        return "is not an IPv4 or IPv6 socket (CGI needs REMOTE_ADDR and SERVER_PORT)";
    }
    if (socket_option(fd, SO_ACCEPTCONN, listening) != 0 || listening == 0) {
        return "is not listening (a socket unit with Accept=no passes listening sockets)";
    }
    return {};
}

std::variant<Listener, std::string> adopt_passed_socket(int fd, bool tls, unsigned copies) {
    UniqueFd owned(fd);
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
        ::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        return std::string("cannot make it non-blocking: ") + std::strerror(errno);
    }
    // Accepted sockets inherit it: see open_socket in server.cpp.
    int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Listener listener;
    listener.address = local_address(fd);
    listener.tls = tls;
    listener.sockets.push_back(std::move(owned));
    for (unsigned i = 1; i < copies; ++i) {
        UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
        if (!copy) return std::string("cannot duplicate it: ") + std::strerror(errno);
        listener.sockets.push_back(std::move(copy));
    }
    return listener;
}

std::variant<std::vector<Listener>, std::string> take_passed_listeners(unsigned copies) {
    PassedNames passed;
    // 1: unset LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES, whether or not they were for us.
    const int count = sd_listen_fds_with_names(1, &passed.names);
    if (count < 0) {
        return std::string("socket activation: LISTEN_FDS: ") + std::strerror(-count);
    }
    std::vector<Listener> listeners;
    for (int i = 0; i < count; ++i) {
        const int fd = SD_LISTEN_FDS_START + i;
        const char* name = passed.names != nullptr ? passed.names[i] : "unknown";
        if (auto why = check_passed_socket(fd); !why.empty()) {
            return describe_passed(fd, name) + " " + why;
        }
        auto adopted = adopt_passed_socket(fd, is_tls_socket_name(name), copies);
        if (auto* error = std::get_if<std::string>(&adopted)) {
            return describe_passed(fd, name) + ": " + *error;
        }
        listeners.push_back(std::move(std::get<Listener>(adopted)));
    }
    return listeners;
}

}  // namespace cgihost
