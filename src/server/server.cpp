#include "server/server.hpp"

#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "http/request_deadline.hpp"
#include "security/privileges.hpp"
#include "server/service_notifier.hpp"
#include "server/socket_activation.hpp"
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
    sigaddset(&set, SIGUSR1);
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

// The certificate, key and staple a configuration names.
TlsFiles tls_files(const Config& config) {
    return {config.tls_cert, config.tls_key, config.tls_ocsp_staple,
            config.tls_min_version == "1.3"};
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

Server::Server(ServerContext& context, SiteInvariants invariants,
               std::vector<std::string> arguments)
    : context_(context), invariants_(std::move(invariants)), arguments_(std::move(arguments)) {}

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

// Sockets passed by systemd replace --listen and --listen-tls; without any, binds those.
std::string Server::open_listeners(std::vector<Listener>& listeners) {
    auto passed = take_passed_listeners(context_.config.threads);
    if (auto* error = std::get_if<std::string>(&passed)) return *error;
    listeners = std::move(std::get<std::vector<Listener>>(passed));
    if (listeners.empty()) return bind_all(listeners);
    std::string names;
    for (const auto& listener : listeners) {
        if (listener.tls && context_.https_port == 0) context_.https_port = listener.address.port;
        names += (names.empty() ? "" : ", ") + std::string(listener.tls ? "https " : "http ") +
                 format_listen_address(listener.address);
    }
    // Redirecting to HTTPS with no TLS listener would send every client to port 0.
    if (context_.https_port == 0 && context_.config.redirect_to_https) {
        return "socket activation: --redirect-to-https is on but systemd passed no socket named "
               "'" +
               std::string(kTlsSocketName) +
               "' (enable cgihost-https.socket, or turn --redirect-to-https off)";
    }
    context_.logger.info("socket activation: serving on the " + std::to_string(listeners.size()) +
                         " sockets systemd passed (" + names +
                         "); --listen and --listen-tls are not bound");
    return {};
}

// Read while still root: the key need not be readable by the user the server becomes.
std::string Server::load_tls(const std::vector<Listener>& listeners) {
    const Config& config = context_.config;
    const auto tls = std::find_if(listeners.begin(), listeners.end(),
                                  [](const Listener& listener) { return listener.tls; });
    if (tls == listeners.end()) return {};
    if (config.tls_cert.empty() || config.tls_key.empty()) {
        return "socket activation: the socket named '" + std::string(kTlsSocketName) + "' (" +
               format_listen_address(tls->address) +
               ") is a TLS listener: give --tls-cert and --tls-key (and --listen-tls, which "
               "they need and which socket activation does not bind)";
    }
    auto outcome = TlsContext::load(tls_files(config));
    if (auto* error = std::get_if<std::string>(&outcome)) return *error;
    tls_ = std::make_unique<TlsContextStore>(
        std::move(std::get<std::shared_ptr<const TlsContext>>(outcome)));
    context_.tls = tls_.get();
    return {};
}

int Server::run() {
    std::vector<Listener> listeners;
    std::string startup_error = open_listeners(listeners);
    if (startup_error.empty()) startup_error = load_tls(listeners);
    if (!startup_error.empty()) {
        (void)std::fprintf(stderr, "cgihost: error: %s\n", startup_error.c_str());
        return 2;
    }
    rlim_t original_descriptor_limit = 0;
    const uint64_t descriptor_limit = raise_descriptor_limit(original_descriptor_limit);
    if (descriptor_limit > original_descriptor_limit) {
        // Scripts get the starting soft limit back, under the hard limit now in force.
        invariants_.open_files = {original_descriptor_limit, descriptor_limit};
        auto site = std::make_shared<Site>(*context_.sites.current());
        site->cgi.limits.open_files = invariants_.open_files;
        context_.sites.replace(std::move(site));
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
    ready_status_.clear();
    for (const auto& listener : listeners) {
        const std::string url = std::string(listener.tls ? "https" : "http") + "://" +
                                format_listen_address(listener.address) + "/";
        (void)std::printf("cgihost: listening on %s\n", url.c_str());
        ready_status_ += (ready_status_.empty() ? "serving " : ", ") + url;
    }
    ready_status_ += " with " + std::to_string(workers_.size()) + " workers";
    if (tls_ && ::access(context_.config.tls_key.c_str(), R_OK) != 0) {
        context_.logger.warn(
            "--tls-key '" + context_.config.tls_key + "' is not readable by " +
            context_.privileges.server.name +
            ": a reload (SIGHUP) will be refused and keep the running configuration "
            "(give that user read access, e.g. through the ssl-cert group)");
    }
    (void)std::fflush(stdout);
    context_.logger.info("cgihost started with " + std::to_string(workers_.size()) +
                         " workers; open file limit " + std::to_string(descriptor_limit));
    notify_ready(ready_status_);
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
            notify_reloading("reloading on SIGHUP");
            context_.logger.reopen();
            context_.logger.info("log files reopened on SIGHUP");
            reload();
            notify_ready(ready_status_);
            continue;
        }
        // For logrotate: the logs alone, never a half-edited configuration.
        if (signal_number == SIGUSR1) {
            context_.logger.reopen();
            context_.logger.info("log files reopened on SIGUSR1");
            continue;
        }
        context_.logger.info(std::string("received ") + strsignal(signal_number) +
                             ", finishing in-flight requests");
        notify_stopping("stopping on " + std::string(strsignal(signal_number)) +
                        ": finishing in-flight requests");
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

// Reads the command line and its config file again and, when they validate, applies them to
// new requests (and new TLS connections), all at once; otherwise the running configuration
// stays and the error log says why. Requests in flight keep the Site they began with.
void Server::reload() {
    std::vector<const char*> argv;
    argv.reserve(arguments_.size());
    for (const auto& argument : arguments_)
        argv.push_back(argument.c_str());
    auto outcome = parse_config(static_cast<int>(argv.size()), argv.data());
    if (auto* exit = std::get_if<ConfigExit>(&outcome)) {
        std::string why = exit->message;
        while (!why.empty() && (why.back() == '\n' || why.back() == ' '))
            why.pop_back();
        context_.logger.error("reload on SIGHUP refused, the running configuration stays: " + why);
        return;
    }
    Config loaded = std::get<Config>(std::move(outcome));
    // The TLS options were validated against the new listen-tls; kept at the running one, they
    // could describe listeners that do not exist (a redirect to port 0).
    if (loaded.listen_tls != context_.config.listen_tls) {
        context_.logger.error(
            "reload on SIGHUP refused, the running configuration stays: --listen-tls changed; "
            "adding or removing HTTPS listeners needs a restart");
        return;
    }
    const auto kept = keep_restart_only_options(context_.config, loaded);
    std::vector<std::string> warnings;
    const std::shared_ptr<const Site> running = context_.sites.current();
    auto site = build_site(
        loaded, invariants_, [&warnings](const std::string& line) { warnings.push_back(line); },
        running.get());
    if (auto* error = std::get_if<std::string>(&site)) {
        context_.logger.error("reload on SIGHUP refused, the running configuration stays: " +
                              *error);
        return;
    }
    if (auto error = reload_tls(loaded); !error.empty()) {
        context_.logger.error("reload on SIGHUP refused, the running configuration stays: TLS: " +
                              error);
        return;
    }
    for (const auto& line : warnings)
        context_.logger.warn(line);
    context_.sites.replace(std::move(std::get<std::shared_ptr<const Site>>(site)));
    std::string note;
    for (const auto& flag : kept)
        note += (note.empty() ? "" : ", ") + flag;
    const std::string verdict =
        "configuration reloaded on SIGHUP" +
        (note.empty() ? std::string() : "; changed but left for a restart: " + note);
    // Said under the more talkative of the old and the new --log-level.
    const bool said_before = context_.logger.enabled(LogLevel::info);
    if (said_before) context_.logger.info(verdict);
    if (auto level = parse_log_level(loaded.log_level)) context_.logger.set_level(*level);
    if (!said_before) context_.logger.info(verdict);
}

// Loads the certificate and key the loaded config names; on success new TLS connections get
// them (open ones keep theirs). Returns why not, and then nothing changes.
std::string Server::reload_tls(const Config& loaded) {
    if (!tls_) return {};
    auto outcome = TlsContext::load(tls_files(loaded));
    if (auto* error = std::get_if<std::string>(&outcome)) return *error;
    tls_->replace(std::move(std::get<std::shared_ptr<const TlsContext>>(outcome)));
    return {};
}

}  // namespace cgihost
