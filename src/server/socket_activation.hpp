// Socket activation (sd_listen_fds(3)): systemd binds the listening sockets and passes them to
// cgihost, which then serves on them instead of binding --listen and --listen-tls. A socket
// named "https" (FileDescriptorName=https) is a TLS listener; every other name is plain HTTP.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "server/server.hpp"

namespace cgihost {

// The FileDescriptorName= that makes a passed socket a TLS listener.
inline constexpr std::string_view kTlsSocketName = "https";

bool is_tls_socket_name(std::string_view name);

// "" when `fd` is a listening TCP socket (SOCK_STREAM, AF_INET or AF_INET6), else why not.
std::string check_passed_socket(int fd);

// A listener on a passed socket: `fd` itself for the first worker and a dup of it for each
// other, so every worker's loop accepts from the one queue systemd holds (evconnlistener
// accepts until EAGAIN, so a worker that loses the race just goes back to waiting). Makes
// the socket non-blocking and sets TCP_NODELAY, as bind_listener does. Takes `fd`.
std::variant<Listener, std::string> adopt_passed_socket(int fd, bool tls, unsigned copies);

// The sockets systemd passed this process (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES), which
// it unsets so scripts never see them. An empty vector when there are none; an error line
// naming the socket when one is not a listening TCP socket.
std::variant<std::vector<Listener>, std::string> take_passed_listeners(unsigned copies);

}  // namespace cgihost
