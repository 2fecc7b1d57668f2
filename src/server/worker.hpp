// One worker thread: its own event_base and evhttp, accepting on its own SO_REUSEPORT
// sockets, so no lock is taken on the request path.
#pragma once

#include <event2/bufferevent.h>
#include <event2/listener.h>

#include <atomic>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cgi/cgi_session.hpp"
#include "files/file_cache.hpp"
#include "http/file_stream.hpp"
#include "http/http_message.hpp"
#include "http/received_body.hpp"
#include "http/request_intake.hpp"
#include "server/access_gate.hpp"
#include "server/server_context.hpp"
#include "util/event_ptr.hpp"
#include "util/unique_fd.hpp"

namespace cgihost {

// One listening socket handed to a worker, and whether it speaks TLS.
struct ListeningSocket {
    UniqueFd fd;
    bool tls = false;
};

class Worker : public CgiSessionHost, public AccessGateHost {
  public:
    explicit Worker(const ServerContext& context);
    ~Worker() override;
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Creates the loop and takes ownership of the listening sockets. Returns "" or an error.
    std::string init(std::vector<ListeningSocket> listeners);
    void start();
    // Thread-safe: stop accepting, let in-flight requests finish (up to the grace period),
    // then leave the loop. join() waits for that.
    void request_stop();
    void join();

    // CgiSessionHost
    event_base* event_loop() override { return base_.get(); }
    void attach_session(evhttp_request* req, CgiSession* session) override;
    void detach_session(evhttp_request* req) override;
    void respond(evhttp_request* req, const Request& request, Response&& response) override;
    void log_access(const Request& request, int status, uint64_t bytes) override;
    void redirect_locally(evhttp_request* req, Request request, int hops) override;
    void session_finished(CgiSession* session) override;
    WorkerMetrics* metrics() override { return metrics_; }
    bool logs_script_usage() const override;
    void log_script_access(const Request& request, int status, uint64_t bytes,
                           const ScriptRun& run) override;
    uint64_t send_unlogged(evhttp_request* req, const Request& request,
                           Response&& response) override;

    // AccessGateHost
    std::shared_ptr<const Site> site_for(evhttp_request* req) override;
    void admitted(evhttp_request* req, Request request, int redirect_hops,
                  ReceivedBody body) override;

  private:
    // What the worker knows of one client connection, from its opening to its close callback.
    // Held in connections_, whose nodes never move, so libevent callbacks may point at it.
    struct ConnectionState {
        int busy = 0;                     // requests not yet fully answered
        CgiSession* session = nullptr;    // the CGI session answering the current request
        RequestIntake* intake = nullptr;  // what reads its requests; owned by its bufferevent
        std::unique_ptr<FileStream> file_stream;  // a file body sent in pieces (TLS)
        std::shared_ptr<const Site> site;         // the current request's, pinned at its start
        bool answered_quickly = false;  // a request of it took the quick path (answer_quickly)
    };

    // evhttp_set_bevcb: called as evhttp accepts a connection, before it exists.
    static bufferevent* on_new_connection(event_base* base, void* self);
    static bufferevent* on_new_tls_connection(event_base* base, void* self);
    bufferevent* make_connection(event_base* base, std::unique_ptr<ConnectionTransport> transport);
    RequestIntake::BodyCheck check_before_body() const;
    std::optional<std::string> answer_quickly(evhttp_connection* connection,
                                              const Request& request);
    std::optional<FileCache::Hit> cached_file(const std::shared_ptr<const Site>& site,
                                              const std::string& raw_path, bool in_memory_only);
    using NewConnectionCallback = bufferevent* (*)(event_base*, void*);
    void configure(evhttp* http, NewConnectionCallback new_connection);
    bool refuse_nph_over_tls(evhttp_request* req, const Request& request, const Target& target);
    static void on_adopt_connections(evutil_socket_t, short, void* self);
    static void on_accept_error(evconnlistener* listener, void*);
    static void on_accept_resume(evutil_socket_t, short, void* self);
    static void on_sessions_finished(evutil_socket_t, short, void* self);
    static void on_request(evhttp_request* req, void* self);
    static void on_request_complete(evhttp_request* req, void* self);
    static void on_connection_close(evhttp_connection* connection, void* self);
    static void on_stop(evutil_socket_t, short, void* self);
    static void on_drain_tick(evutil_socket_t, short, void* self);
    static void on_sample_tick(evutil_socket_t, short, void* self);
    void write_access_record(const Request& request, int status, uint64_t bytes,
                             const ScriptRun* run);
    bool serve_status(evhttp_request* req, const Request& request);

    void adopt(evhttp_connection* connection, RequestIntake* intake);
    void pause_accepting(int error_number);
    void set_listening(bool enabled);
    void update_listening();
    bool at_capacity() const { return connections_.size() + unadopted_.size() >= connection_cap_; }
    void handle(evhttp_request* req);
    bool is_health_check(const Request& request) const;
    void answer_health_check(evhttp_request* req, const Request& request);
    void track_request(evhttp_request* req);
    // Every request, local redirects included, passes the access gate first.
    void dispatch(evhttp_request* req, Request request, int redirect_hops, ReceivedBody body);
    size_t in_flight() const;

    const ServerContext& context_;
    EventBasePtr base_;
    EvhttpPtr http_;   // the plain listeners' connections
    EvhttpPtr https_;  // the TLS listeners' (its own evhttp, for its own bevcb); may be null
    EventPtr stop_event_;
    EventPtr drain_timer_;
    std::vector<std::pair<evhttp*, evhttp_bound_socket*>> bound_;
    std::thread thread_;
    bool draining_ = false;
    double drain_deadline_ = 0;
    // Per connection; the close callback forgets a connection that died mid-response,
    // because evhttp then skips the completion callback.
    std::unordered_map<evhttp_connection*, ConnectionState> connections_;
    FileCache file_cache_;  // this loop's static files (files/file_cache.hpp)
    // The intake settings new connections get, copied from intake_settings_site_.
    std::shared_ptr<const IntakeSettings> intake_settings_;
    std::shared_ptr<const Site> intake_settings_site_;
    std::unordered_map<CgiSession*, std::unique_ptr<CgiSession>> sessions_;
    std::unique_ptr<AccessGate> gate_;  // --allow and --basic-auth; made by init()
    std::vector<CgiSession*> finished_sessions_;
    EventPtr sessions_finished_event_;
    // Connections evhttp accepted in this loop iteration, each with a reference we hold
    // until on_adopt_connections has seen whether evhttp kept it.
    std::vector<std::pair<bufferevent*, RequestIntake*>> unadopted_;
    EventPtr adopt_event_;
    EventPtr accept_resume_timer_;
    size_t connection_cap_ = 0;  // this worker's share of --max-connections
    double next_accept_warning_ = 0;
    // This loop's status counters (status/); nullptr when no status URL is configured.
    WorkerMetrics* metrics_ = nullptr;
    EventPtr sample_timer_;  // the first worker's: a history sample every second
};

}  // namespace cgihost
