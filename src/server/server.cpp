#include "server/server.hpp"

#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "http/request_deadline.hpp"
#include "security/privileges.hpp"
#include "server/worker.hpp"

namespace cgihost {
namespace {

constexpr int kListenBacklog = 1024;

std::string bind_error(const ListenAddress& address, const std::string& what) {
    return "--listen " + format_listen_address(address) + ": " + what;
}

// Resolves the host numerically or by name once at startup (blocking is fine here).
std::string resolve_address(const ListenAddress& address, sockaddr_storage& out, socklen_t& len) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* result = nullptr;
    std::string port = std::to_string(address.port);
    int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &result);
    if (rc != 0) return bind_error(address, gai_strerror(rc));
    std::memcpy(&out, result->ai_addr, result->ai_addrlen);
    len = result->ai_addrlen;
    freeaddrinfo(result);
    return {};
}

std::string open_socket(const ListenAddress& address, sockaddr_storage& sa, socklen_t len,
                        UniqueFd& out) {
    UniqueFd fd(::socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return bind_error(address, std::strerror(errno));
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    // evhttp sends a response's head and body in separate writes (writev, then sendfile or
    // a chunk): with Nagle the second waits for the client's delayed ACK of the first,
    // ~40 ms per response. Linux copies this option to every accepted socket.
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (sa.ss_family == AF_INET6)
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), len) != 0 ||
        ::listen(fd.get(), kListenBacklog) != 0) {
        return bind_error(address, std::strerror(errno));
    }
    out = std::move(fd);
    return {};
}

uint16_t bound_port(int fd) {
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    if (sa.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6&>(sa).sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in&>(sa).sin_port);
}

void set_port(sockaddr_storage& sa, uint16_t port) {
    if (sa.ss_family == AF_INET6) {
        reinterpret_cast<sockaddr_in6&>(sa).sin6_port = htons(port);
    } else {
        reinterpret_cast<sockaddr_in&>(sa).sin_port = htons(port);
    }
}

// The signals the main thread waits for; every thread keeps them blocked.
sigset_t server_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return set;
}

// Raises the soft RLIMIT_NOFILE to the hard limit, as nginx and lighttpd do: every client
// connection holds a descriptor, and a CGI request several more. Returns the soft limit now
// in force; `original` gets the one in force before.
uint64_t raise_descriptor_limit(rlim_t& original) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    original = limit.rlim_cur;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        // An unlimited hard limit is refused (the kernel caps at fs.nr_open): keep the soft one.
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return static_cast<uint64_t>(limit.rlim_cur);
}

// How often freed heap memory is handed back to the system (see wait_for_signals).
constexpr time_t kMemoryTrimIntervalSeconds = 5;

}  // namespace

std::string bind_listener(const ListenAddress& address, unsigned copies, Listener& listener) {
    sockaddr_storage sa{};
    socklen_t len = 0;
    if (auto error = resolve_address(address, sa, len); !error.empty()) return error;
    // Another process already on this port must not be joined silently through
    // SO_REUSEPORT: it would answer part of our traffic. A probe bind without it detects that.
    if (address.port != 0) {
        UniqueFd probe(::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
        int one = 1;
        ::setsockopt(probe.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(probe.get(), reinterpret_cast<sockaddr*>(&sa), len) != 0) {
            return bind_error(address, std::strerror(errno));
        }
    }
    listener.address = address;
    for (unsigned i = 0; i < copies; ++i) {
        UniqueFd fd;
        if (auto error = open_socket(listener.address, sa, len, fd); !error.empty()) return error;
        if (i == 0) {
            listener.address.port = bound_port(fd.get());
            set_port(sa, listener.address.port);
        }
        listener.sockets.push_back(std::move(fd));
    }
    return {};
}

void prepare_process_signals() {
    (void)::signal(SIGPIPE, SIG_IGN);
    // A file-size limit (RLIMIT_FSIZE) met while spooling a request body must fail that
    // write with EFBIG (answered 507), not kill the server.
    (void)::signal(SIGXFSZ, SIG_IGN);
    sigset_t set = server_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Server::Server(ServerContext& context) : context_(context) {}

Server::~Server() = default;

std::string Server::start_workers(std::vector<Listener>& listeners) {
    const unsigned count = context_.config.threads;
    for (unsigned i = 0; i < count; ++i) {
        auto worker = std::make_unique<Worker>(context_);
        std::vector<ListeningSocket> sockets;
        sockets.reserve(listeners.size());
        for (auto& listener : listeners)
            sockets.push_back({std::move(listener.sockets[i]), listener.tls});
        if (auto error = worker->init(std::move(sockets)); !error.empty()) return error;
        workers_.push_back(std::move(worker));
    }
    for (auto& worker : workers_)
        worker->start();
    return {};
}

std::string Server::bind_all(std::vector<Listener>& listeners) {
    const Config& config = context_.config;
    for (bool tls : {false, true}) {
        for (const auto& address : tls ? config.listen_tls_addresses : config.listen_addresses) {
            Listener listener;
            listener.tls = tls;
            if (auto error = bind_listener(address, config.threads, listener); !error.empty()) {
                return tls ? "--listen-tls" + error.substr(error.find(' ')) : error;
            }
            if (tls && context_.https_port == 0) context_.https_port = listener.address.port;
            listeners.push_back(std::move(listener));
        }
    }
    return {};
}

// Read while still root: the key need not be readable by the user the server becomes.
std::string Server::load_tls() {
    const Config& config = context_.config;
    if (config.listen_tls.empty()) return {};
    TlsFiles files{config.tls_cert, config.tls_key, config.tls_ocsp_staple};
    auto outcome = TlsContext::load(files);
    if (auto* error = std::get_if<std::string>(&outcome)) return *error;
    tls_ = std::make_unique<TlsContextStore>(
        files, std::move(std::get<std::shared_ptr<const TlsContext>>(outcome)));
    context_.tls = tls_.get();
    return {};
}

int Server::run() {
    std::vector<Listener> listeners;
    std::string startup_error = bind_all(listeners);
    if (startup_error.empty()) startup_error = load_tls();
    if (!startup_error.empty()) {
        (void)std::fprintf(stderr, "cgihost: error: %s\n", startup_error.c_str());
        return 2;
    }
    rlim_t original_descriptor_limit = 0;
    const uint64_t descriptor_limit = raise_descriptor_limit(original_descriptor_limit);
    if (descriptor_limit > original_descriptor_limit) {
        // Scripts get the starting soft limit back, under the hard limit now in force.
        context_.cgi.limits.open_files = {original_descriptor_limit, descriptor_limit};
    }
    // The sockets are bound and the logs open: what needed root is done. Workers, which
    // inherit the calling thread's credentials, start only after this.
    if (auto error = drop_privileges(context_.privileges, context_.logger); !error.empty()) {
        (void)std::fprintf(stderr, "cgihost: error: %s\n", error.c_str());
        return 2;
    }
    if (auto error = start_workers(listeners); !error.empty()) {
        (void)std::fprintf(stderr, "cgihost: error: %s\n", error.c_str());
        return 2;
    }
    for (const auto& listener : listeners) {
        (void)std::printf("cgihost: listening on %s://%s/\n", listener.tls ? "https" : "http",
                          format_listen_address(listener.address).c_str());
    }
    if (tls_ && ::access(context_.config.tls_key.c_str(), R_OK) != 0) {
        context_.logger.warn("--tls-key '" + context_.config.tls_key + "' is not readable by " +
                             context_.privileges.server.name +
                             ": SIGHUP will keep the current certificate (give that user read "
                             "access, e.g. through the ssl-cert group)");
    }
    (void)std::fflush(stdout);
    context_.logger.info("cgihost started with " + std::to_string(workers_.size()) +
                         " workers; open file limit " + std::to_string(descriptor_limit));
    wait_for_signals();
    delay_shutdown();
    for (auto& worker : workers_)
        worker->request_stop();
    for (auto& worker : workers_)
        worker->join();
    context_.logger.info("cgihost stopped");
    context_.logger.flush();
    return 0;
}

void Server::wait_for_signals() {
    const sigset_t set = server_signals();
    const timespec trim_interval{kMemoryTrimIntervalSeconds, 0};
    for (;;) {
        const int signal_number = sigtimedwait(&set, nullptr, &trim_interval);
        if (signal_number < 0) {
            // Request bodies and script output are buffered in memory while they pass through;
            // after a burst of large ones, glibc keeps the freed pages in its arenas. Give
            // them back now and then, so a long-running server returns to its usual size.
            if (errno == EAGAIN) (void)malloc_trim(0);
            continue;
        }
        if (signal_number == SIGHUP) {
            context_.logger.reopen();
            context_.logger.info("log files reopened on SIGHUP");
            reload_tls();
            continue;
        }
        context_.logger.info(std::string("received ") + strsignal(signal_number) +
                             ", finishing in-flight requests");
        return;
    }
}

// --shutdown-delay: go on serving for a while, with --health-url answering 503 and each
// response closing its connection, so that a load balancer takes us out of its pool before we
// stop accepting. A second SIGTERM or SIGINT cuts the wait short.
void Server::delay_shutdown() {
    context_.shutting_down.store(true);
    const double delay = context_.config.shutdown_delay;
    if (delay <= 0) return;
    char seconds[32];
    (void)std::snprintf(seconds, sizeof seconds, "%g", delay);
    context_.logger.info(std::string("going on serving for ") + seconds +
                         " s (--shutdown-delay) while the load balancer takes us out");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    const double until = monotonic_seconds() + delay;
    while (monotonic_seconds() < until) {
        const double left = until - monotonic_seconds();
        const auto whole = static_cast<time_t>(left);
        const timespec wait{whole, static_cast<long>((left - static_cast<double>(whole)) * 1e9)};
        if (sigtimedwait(&set, nullptr, &wait) >= 0) {
            context_.logger.info("second signal: stopping now");
            return;
        }
    }
}

// New TLS connections get the reloaded certificate and key; open ones keep theirs. A file
// that fails to load leaves the current context in place.
void Server::reload_tls() {
    if (!tls_) return;
    if (auto error = tls_->reload(); !error.empty()) {
        context_.logger.error("TLS reload on SIGHUP failed, keeping the current certificate: " +
                              error);
        return;
    }
    context_.logger.info("TLS certificate and key reloaded on SIGHUP");
}

}  // namespace cgihost
