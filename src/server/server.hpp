// Owns the listening sockets, the worker threads and the process's signal handling.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "server/server_context.hpp"
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
    explicit Server(ServerContext& context);
    ~Server();
    // Binds, starts the workers, then serves until SIGTERM/SIGINT. Returns the exit status;
    // startup errors are printed as one line and give 2.
    int run();

  private:
    std::string bind_all(std::vector<Listener>& listeners);
    std::string load_tls();
    std::string start_workers(std::vector<Listener>& listeners);
    void wait_for_signals();
    void delay_shutdown();
    void reload_tls();

    ServerContext& context_;
    std::unique_ptr<TlsContextStore> tls_;
    std::vector<std::unique_ptr<Worker>> workers_;
};

// Blocks the signals the server waits for (SIGTERM, SIGINT, SIGHUP) and ignores SIGPIPE.
// Must run before any thread is created so every thread inherits the mask.
void prepare_process_signals();

}  // namespace cgihost
