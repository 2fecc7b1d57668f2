// cgihost under systemd without systemd: systemd-socket-activate passes it sockets (plain and
// TLS, by name), a passed descriptor that is no listening TCP socket is refused at startup,
// and a datagram socket of our own standing in for NOTIFY_SOCKET hears READY, RELOADING,
// READY and STOPPING in that order.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "test_certificates.hpp"
#include "test_server.hpp"
#include "util/unique_fd.hpp"

namespace cgihost::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A loopback port free a moment ago (systemd-socket-activate takes no port 0).
uint16_t free_port() {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), len) != 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
        return 0;
    }
    return ntohs(sa.sin_port);
}

// systemd-socket-activate execs cgihost only once a client knocks, as systemd does: this
// client connects (retrying until the socket is there), sends a request and reads the answer,
// which the server, started by that connection, gives.
class FirstClient {
  public:
    explicit FirstClient(uint16_t port)
        : thread_([this, port] {
              auto deadline = Clock::now() + kHangGuard;
              while (Clock::now() < deadline) {
                  HttpConnection connection(port);
                  if (connection.connected()) {
                      response_ = connection.request("GET", "/");
                      return;
                  }
                  std::this_thread::sleep_for(20ms);
              }
          }) {}
    ~FirstClient() { join(); }
    FirstClient(const FirstClient&) = delete;
    FirstClient& operator=(const FirstClient&) = delete;
    const std::optional<HttpResponse>& response() {
        join();
        return response_;
    }

  private:
    void join() {
        if (thread_.joinable()) thread_.join();
    }
    std::optional<HttpResponse> response_;
    std::thread thread_;
};

// A site with an index page and the scriptable test CGI, readable by the users a root-started
// server becomes.
class SystemdTest : public ::testing::Test {
  protected:
    SystemdTest() {
        site_.write_file("www/index.html", "<h1>activated</h1>\n");
        fs::create_directories(site_ / "cgi-bin");
        fs::copy_file(test_cgi_binary(), site_ / "cgi-bin" / "test.cgi");
        fs::permissions(site_ / "cgi-bin" / "test.cgi", fs::perms(0755));
    }
    std::vector<std::string> site_args() const {
        return {"--docroot", site_.file("www"), "--cgi-dir", site_.file("cgi-bin")};
    }
    // The test CGI's environment as it prints it.
    static std::string script_environment(uint16_t port) {
        HttpConnection connection(port);
        auto response = connection.request("GET", "/cgi-bin/test.cgi?env=1");
        return response && response->status == 200 ? response->body : std::string("no answer");
    }

    TempDir site_;
};

// cgihost started by systemd-socket-activate on fresh loopback ports, one per name, woken by
// a first client on the first port. A port taken by someone else between free_port() and
// systemd-socket-activate's bind is retried with new ones.
struct ActivatedServer {
    std::vector<uint16_t> ports;
    std::unique_ptr<FirstClient> first;
    std::unique_ptr<TestServer> server;
};

ActivatedServer start_activated(const std::vector<std::string>& args,
                                const std::vector<std::string>& names) {
    constexpr int kAttempts = 3;
    for (int attempt = 1;; ++attempt) {
        ActivatedServer activated;
        std::vector<std::string> launcher{"systemd-socket-activate"};
        std::string fdnames;
        while (activated.ports.size() < names.size()) {
            const uint16_t port = free_port();
            if (port == 0 || std::find(activated.ports.begin(), activated.ports.end(), port) !=
                                 activated.ports.end()) {
                continue;
            }
            activated.ports.push_back(port);
            launcher.insert(launcher.end(), {"-l", "127.0.0.1:" + std::to_string(port)});
            fdnames += (fdnames.empty() ? "" : ":") + names[activated.ports.size() - 1];
        }
        launcher.push_back("--fdname=" + fdnames);
        activated.first = std::make_unique<FirstClient>(activated.ports[0]);
        try {
            activated.server = std::make_unique<TestServer>(args, false, launcher);
            return activated;
        } catch (const std::runtime_error& error) {
            if (attempt == kAttempts ||
                std::string(error.what()).find("Address already in use") == std::string::npos) {
                throw;
            }
        }
    }
}

TEST_F(SystemdTest, ServesOnThePassedSocketInsteadOfBindingListen) {
    ActivatedServer activated = start_activated(site_args(), {"http"});
    const uint16_t port = activated.ports[0];
    TestServer& server = *activated.server;
    EXPECT_EQ(server.port(), port);
    const auto& first = activated.first->response();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->status, 200);
    EXPECT_EQ(first->body, "<h1>activated</h1>\n");
    // Later connections go through the same queue, which every worker accepts from.
    for (int i = 0; i < 8; ++i) {
        HttpConnection connection(port);
        auto response = connection.request("GET", "/");
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 200);
    }
    const std::string environment = script_environment(port);
    EXPECT_NE(environment.find("SERVER_PORT=" + std::to_string(port)), std::string::npos)
        << environment;
    EXPECT_EQ(environment.find("LISTEN_"), std::string::npos) << environment;
    EXPECT_EQ(server.stop(), 0);
    const std::string address = "127.0.0.1:" + std::to_string(port);
    EXPECT_NE(server.error_log().find("socket activation: serving on the 1 sockets systemd "
                                      "passed (http " +
                                      address + ")"),
              std::string::npos)
        << server.error_log();
}

TEST_F(SystemdTest, SocketNamedHttpsIsATlsListener) {
    TempDir certificates;
    TestCertificateAuthority ca(certificates.path());
    ASSERT_TRUE(ca.ok());
    ServerCertificate certificate = ca.issue("cgihost-activated");
    auto args = site_args();
    // --listen-tls is what --tls-cert needs; socket activation does not bind it.
    args.insert(args.end(), {"--listen-tls", "127.0.0.1:0", "--tls-cert", certificate.cert,
                             "--tls-key", certificate.key});
    ActivatedServer activated = start_activated(args, {"http", "https"});
    const uint16_t tls_port = activated.ports[1];
    TestServer& server = *activated.server;
    ASSERT_TRUE(activated.first->response());
    EXPECT_EQ(server.tls_port(), tls_port);
    HttpConnection tls(tls_port, TlsClientOptions{ca.ca_file()});
    ASSERT_TRUE(tls.connected());
    auto response = tls.request("GET", "/");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "<h1>activated</h1>\n");
    EXPECT_EQ(server.stop(), 0);
}

// Starts cgihost as systemd would with `fd` as its only passed socket (descriptor 3) named
// `name`, and returns its exit status and what it printed.
ShellResult start_with_passed_fd(int fd, const std::string& name,
                                 const std::vector<std::string>& args) {
    std::string command = "export LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=" + name + "; exec '" +
                          cgihost_binary() + "' --threads 2 --error-log - --access-log ''";
    for (const auto& arg : args)
        command += " '" + arg + "'";
    command += " 3<&" + std::to_string(fd);
    // The shell runs the command: $$ is its pid, which exec hands to cgihost.
    return run_shell(command);
}

UniqueFd loopback_socket(int type, bool listening) {
    UniqueFd fd(::socket(AF_INET, type, 0));  // no CLOEXEC: the shell hands it on
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    if (listening) (void)::listen(fd.get(), 16);
    return fd;
}

void expect_refused(const ShellResult& result, const std::string& why) {
    EXPECT_EQ(result.exit_status, 2) << result.output;
    EXPECT_NE(result.output.find("cgihost: error: socket activation: descriptor 3"),
              std::string::npos)
        << result.output;
    EXPECT_NE(result.output.find(why), std::string::npos) << result.output;
    EXPECT_EQ(result.output.find("listening on"), std::string::npos) << result.output;
}

TEST_F(SystemdTest, RefusesAPassedFileThatIsNoSocket) {
    UniqueFd file(::open("/dev/null", O_RDONLY));
    expect_refused(start_with_passed_fd(file.get(), "http", site_args()), "is not a socket");
}

TEST_F(SystemdTest, RefusesADatagramSocket) {
    UniqueFd udp = loopback_socket(SOCK_DGRAM, false);
    expect_refused(start_with_passed_fd(udp.get(), "http", site_args()),
                   "is not a stream (TCP) socket");
}

TEST_F(SystemdTest, RefusesAStreamSocketThatIsNotListening) {
    UniqueFd tcp = loopback_socket(SOCK_STREAM, false);
    expect_refused(start_with_passed_fd(tcp.get(), "http", site_args()), "is not listening");
}

TEST_F(SystemdTest, RefusesAUnixSocket) {
    UniqueFd unix_socket(::socket(AF_UNIX, SOCK_STREAM, 0));
    const sa_family_t family = AF_UNIX;  // an address of just the family: an abstract autobind
    ASSERT_EQ(::bind(unix_socket.get(), reinterpret_cast<const sockaddr*>(&family), sizeof family),
              0);
    ASSERT_EQ(::listen(unix_socket.get(), 1), 0);
    expect_refused(start_with_passed_fd(unix_socket.get(), "http", site_args()),
                   "not an IPv4 or IPv6 socket");
}

TEST_F(SystemdTest, RefusesAnHttpsSocketWithoutCertificate) {
    UniqueFd tcp = loopback_socket(SOCK_STREAM, true);
    auto result = start_with_passed_fd(tcp.get(), "https", site_args());
    EXPECT_EQ(result.exit_status, 2) << result.output;
    EXPECT_NE(result.output.find("is a TLS listener: give --tls-cert and --tls-key"),
              std::string::npos)
        << result.output;
}

// The config asks for HTTPS redirects, but only the plain socket came: every client would be
// sent to port 0. cgihost says so and stops instead.
TEST_F(SystemdTest, RefusesRedirectToHttpsWithoutAnHttpsSocket) {
    TempDir certificates;
    TestCertificateAuthority ca(certificates.path());
    ASSERT_TRUE(ca.ok());
    ServerCertificate certificate = ca.issue("cgihost-activated");
    auto args = site_args();
    args.insert(args.end(), {"--listen-tls", "127.0.0.1:0", "--tls-cert", certificate.cert,
                             "--tls-key", certificate.key, "--redirect-to-https", "true"});
    UniqueFd tcp = loopback_socket(SOCK_STREAM, true);
    auto result = start_with_passed_fd(tcp.get(), "http", args);
    EXPECT_EQ(result.exit_status, 2) << result.output;
    EXPECT_NE(result.output.find("--redirect-to-https is on but systemd passed no socket named "
                                 "'https'"),
              std::string::npos)
        << result.output;
}

TEST_F(SystemdTest, PassedSocketsForAnotherProcessAreIgnored) {
    // LISTEN_PID names another process (ours): cgihost binds --listen as usual.
    ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
    ::setenv("LISTEN_FDS", "1", 1);
    TestServer server(site_args());
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    HttpConnection connection(server.port());
    EXPECT_TRUE(connection.connected());
    EXPECT_EQ(server.stop(), 0);
}

// A datagram socket in a directory of our own, standing in for systemd's NOTIFY_SOCKET.
class NotifySocket {
  public:
    explicit NotifySocket(const TempDir& dir) : path_(dir.file("notify")) {
        fd_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        path_.copy(sa.sun_path, sizeof sa.sun_path - 1);
        bound_ = ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
                 // The server sends from the user it drops to (www-data when started as root).
                 ::chmod(path_.c_str(), 0777) == 0;
    }
    bool bound() const { return bound_; }
    const std::string& path() const { return path_; }
    // The next message, or "" when none comes within the hang guard.
    std::string next() {
        pollfd ready{fd_.get(), POLLIN, 0};
        if (::poll(&ready, 1, static_cast<int>(std::chrono::milliseconds(kHangGuard).count())) !=
            1) {
            return {};
        }
        char buffer[4096];
        ssize_t got = ::recv(fd_.get(), buffer, sizeof buffer, 0);
        return got > 0 ? std::string(buffer, static_cast<size_t>(got)) : std::string();
    }

  private:
    std::string path_;
    UniqueFd fd_;
    bool bound_ = false;
};

std::string first_line(const std::string& message) {
    return message.substr(0, message.find('\n'));
}

TEST_F(SystemdTest, NotifiesReadyReloadingAndStoppingInOrder) {
    TempDir dir;
    NotifySocket notify(dir);
    ASSERT_TRUE(notify.bound());
    ::setenv("NOTIFY_SOCKET", notify.path().c_str(), 1);
    TestServer server(site_args());
    ::unsetenv("NOTIFY_SOCKET");

    const std::string ready = notify.next();
    EXPECT_EQ(first_line(ready), "READY=1");
    EXPECT_NE(ready.find("\nSTATUS=serving http://127.0.0.1:" + std::to_string(server.port()) +
                         "/ with 2 workers"),
              std::string::npos)
        << ready;
    // Scripts do not inherit the notification socket.
    EXPECT_EQ(script_environment(server.port()).find("NOTIFY_SOCKET"), std::string::npos);

    ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
    const std::string reloading = notify.next();
    EXPECT_EQ(first_line(reloading), "RELOADING=1");
    EXPECT_NE(reloading.find("\nMONOTONIC_USEC="), std::string::npos) << reloading;
    EXPECT_NE(reloading.find("\nSTATUS="), std::string::npos) << reloading;
    const std::string ready_again = notify.next();
    EXPECT_EQ(first_line(ready_again), "READY=1");
    EXPECT_EQ(ready_again, ready);

    EXPECT_EQ(server.stop(SIGTERM), 0);
    const std::string stopping = notify.next();
    EXPECT_EQ(first_line(stopping), "STOPPING=1");
    EXPECT_NE(stopping.find("\nSTATUS=stopping"), std::string::npos) << stopping;
}

}  // namespace
}  // namespace cgihost::testing
