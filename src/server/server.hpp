// Owns the listening sockets, the worker threads and the process's signal handling.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "server/server_context.hpp"
#include "server/site.hpp"
#include "util/unique_fd.hpp"

namespace cgihost {

class Worker;

// One bound address: a socket per worker (SO_REUSEPORT lets the kernel balance accepts).
struct Listener {
    ListenAddress address;  // with the real port once bound
    std::vector<UniqueFd> sockets;
    bool tls = false;  // --listen-tls
};

// Binds `address` once per worker. Returns an error line naming the address, or "".
std::string bind_listener(const ListenAddress& address, unsigned copies, Listener& listener);

class Server {
  public:
    // `arguments` is the command line, read again (with its --config file) on SIGHUP.
    Server(ServerContext& context, SiteInvariants invariants, std::vector<std::string> arguments);
    ~Server();
    // Binds (or takes the sockets systemd passed), starts the workers, then serves until
    // SIGTERM/SIGINT; SIGHUP reopens the logs and reloads the configuration. Returns the exit
    // status; startup errors are printed as one line and give 2.
    int run();

  private:
    std::string open_listeners(std::vector<Listener>& listeners);
    std::string bind_all(std::vector<Listener>& listeners);
    std::string load_tls(const std::vector<Listener>& listeners);
    std::string start_workers(std::vector<Listener>& listeners);
    void wait_for_signals();
    void reload();
    std::string reload_tls(const Config& loaded);
    void delay_shutdown();

    ServerContext& context_;
    SiteInvariants invariants_;
    std::vector<std::string> arguments_;
    std::unique_ptr<TlsContextStore> tls_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::string ready_status_;  // STATUS= sent with READY=1: what we serve on
};

// Blocks the signals the server waits for (SIGTERM, SIGINT, SIGHUP, SIGUSR1) and ignores SIGPIPE.
// Must run before any thread is created so every thread inherits the mask.
void prepare_process_signals();

}  // namespace cgihost
