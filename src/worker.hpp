// One worker thread: its own event_base and evhttp, accepting on its own SO_REUSEPORT
// sockets, so no lock is taken on the request path.
#pragma once

#include <atomic>
#include <thread>
#include <unordered_map>
#include <vector>

#include "event_ptr.hpp"
#include "http_message.hpp"
#include "server_context.hpp"
#include "unique_fd.hpp"

namespace cgihost {

class Worker {
  public:
    explicit Worker(const ServerContext& context);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Creates the loop and takes ownership of the listening sockets. Returns "" or an error.
    std::string init(std::vector<UniqueFd> listeners);
    void start();
    // Thread-safe: stop accepting, let in-flight requests finish (up to the grace period),
    // then leave the loop. join() waits for that.
    void request_stop();
    void join();

  private:
    static void on_request(evhttp_request* req, void* self);
    static void on_request_complete(evhttp_request* req, void* self);
    static void on_connection_close(evhttp_connection* connection, void* self);
    static void on_stop(evutil_socket_t, short, void* self);
    static void on_drain_tick(evutil_socket_t, short, void* self);

    void handle(evhttp_request* req);
    void track_request(evhttp_request* req);
    void finish(evhttp_request* req, const Request& request, Response&& response);
    size_t in_flight() const;

    const ServerContext& context_;
    EventBasePtr base_;
    EvhttpPtr http_;
    EventPtr stop_event_;
    EventPtr drain_timer_;
    std::vector<evhttp_bound_socket*> bound_;
    std::thread thread_;
    bool draining_ = false;
    double drain_deadline_ = 0;
    // Requests not yet fully answered, per connection; the close callback forgets a
    // connection that died mid-response, because evhttp then skips the completion callback.
    std::unordered_map<evhttp_connection*, int> busy_;
};

}  // namespace cgihost
