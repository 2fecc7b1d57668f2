// One CGI request from spawn to reap: feeds the body to the script's stdin, parses its
// header block, streams its body to the client with backpressure (an nph- script's through
// nph_relay), has its stderr logged (cgi_stderr_logger), enforces the deadlines, and makes
// sure the process is reaped. It lives on the loop that owns the request, so nothing here
// takes a lock.
#pragma once

#include <event2/http.h>

#include <cstdint>
#include <string>

#include "cgi/cgi_process.hpp"
#include "cgi/cgi_response_parser.hpp"
#include "cgi/cgi_stderr_logger.hpp"
#include "cgi/nph_relay.hpp"
#include "files/target_resolver.hpp"
#include "http/http_message.hpp"
#include "http/received_body.hpp"
#include "server/server_context.hpp"
#include "status/server_metrics.hpp"
#include "util/event_ptr.hpp"

namespace cgihost {

class CgiSession;

// What a session needs from the worker that owns it.
class CgiSessionHost {
  public:
    virtual ~CgiSessionHost() = default;
    virtual event_base* event_loop() = 0;
    // While attached, the session hears when evhttp frees the request's connection.
    virtual void attach_session(evhttp_request* req, CgiSession* session) = 0;
    virtual void detach_session(evhttp_request* req) = 0;
    // Sends a complete response and writes the access-log line.
    virtual void respond(evhttp_request* req, const Request& request, Response&& response) = 0;
    virtual void log_access(const Request& request, int status, uint64_t bytes) = 0;
    // RFC 3875 §6.2.2: answer `req` as if the client had asked for request.target.
    virtual void redirect_locally(evhttp_request* req, Request request, int hops) = 0;
    // The session has nothing left to do; the host destroys it outside its callbacks.
    virtual void session_finished(CgiSession* session) = 0;
    // This loop's status counters; nullptr when neither --status-url nor --metrics-url is on.
    virtual WorkerMetrics* metrics() { return nullptr; }
    // Whether access-log lines carry a script's CPU time and peak RSS (combined-cgi); then
    // the session writes its line through log_script_access once the script is reaped.
    virtual bool logs_script_usage() const { return false; }
    virtual void log_script_access(const Request& request, int status, uint64_t bytes,
                                   const ScriptRun& run) = 0;
    // Sends a complete response without its access-log line; returns the body bytes sent.
    virtual uint64_t send_unlogged(evhttp_request* req, const Request& request,
                                   Response&& response) = 0;
};

class CgiSession {
  public:
    // `site`: the one the request began with, kept until the session ends.
    CgiSession(CgiSessionHost& host, const ServerContext& context, std::shared_ptr<const Site> site,
               evhttp_request* req, Request request, Target target, int redirect_hops,
               ReceivedBody body);
    ~CgiSession();
    CgiSession(const CgiSession&) = delete;
    CgiSession& operator=(const CgiSession&) = delete;

    // Asks for a script slot (cgi_admission), then spawns the script and starts the I/O, at
    // once or after waiting in the queue; answers 502/503 itself when it cannot.
    void start();
    // The server stops: a request still waiting for a slot gets 503 now.
    void on_server_stopping();
    // evhttp freed the connection (client gone, write error): stop the script.
    void on_connection_closed();

  private:
    // awaiting_redirect: a local redirect's header block is in; RFC 3875 §6.2.2 allows no
    // body, so the redirect waits for stdout's EOF and any byte before it is an error.
    enum class Phase { reading_head, awaiting_redirect, streaming, done };

    static void on_stdin_writable(evutil_socket_t, short, void* self);
    bool feed_stdin(int fd);
    static void on_stdout_readable(evutil_socket_t, short, void* self);
    static void on_process_exit(evutil_socket_t, short, void* self);
    static void on_silence_timeout(evutil_socket_t, short, void* self);
    static void on_total_timeout(evutil_socket_t, short, void* self);
    static void on_kill_grace(evutil_socket_t, short, void* self);
    static void on_client_closed(evutil_socket_t, short, void* self);
    static void on_chunk_sent(evhttp_connection*, void* self);
    static void on_drained(evutil_socket_t, short, void* self);
    static void on_exit_wait_over(evutil_socket_t, short, void* self);
    static void on_slot_granted(evutil_socket_t, short, void* self);
    static void on_queue_timeout(evutil_socket_t, short, void* self);

    void launch();
    void wait_for_slot();
    void leave_queue();
    void release_slot();

    std::string spawn();
    void watch_pipes();
    void watch_client();
    void take_over_connection();
    void relay_nph_output(const char* data, size_t size);
    void follow_nph_relay(NphRelay::Progress progress);
    void close_client();
    void handle_output(const char* data, size_t size);
    void handle_head(const char* rest, size_t rest_size);
    void start_reply(const CgiResponseHead& head);
    void send_x_sendfile(const std::string& path, const CgiResponseHead& head);
    void redirect(const std::string& location);
    void close_when_drained();
    void send_body(const char* data, size_t size);
    void finish_output();
    // Ends a streamed response once stdout is over: cut short if the script crashed.
    void end_stream();
    // Killed by a signal we did not send (ours only follow a timeout or a departed client,
    // which end the response before this is asked).
    bool crashed() const;
    void fail(int status, const std::string& reason);
    void refuse_for_now(const char* message);  // 503 + Retry-After, before any script runs
    void abort_connection();
    void end_response(int logged_status);
    evhttp_request* release_request();
    void terminate_process();
    void close_stdout();
    void maybe_finished();
    std::string describe() const;
    std::string describe_waiter() const;  // before a process exists
    // The first reason this request failed is the one counted (a crash excepted, see .cpp).
    void note_failure(ScriptFailure failure);
    void note_reaped();
    void record_run();
    void send_server_response(Response response);
    void write_log_line(int status, uint64_t bytes);

    CgiSessionHost& host_;
    const ServerContext& context_;
    std::shared_ptr<const Site> site_;
    evhttp_request* req_;  // null once the response is over or the connection is gone
    Request request_;
    Target target_;
    int redirect_hops_;

    CgiStderrLogger stderr_logger_;
    CgiProcess process_;
    bool counted_ = false;  // holds a slot of cgi-max-processes
    // Waiting in cgi_admission's queue; a worker that frees a slot for it (on any thread)
    // activates slot_event_ on this session's own loop.
    bool queued_ = false;
    CgiAdmission::Ticket ticket_ = 0;
    EventPtr slot_event_;
    EventPtr queue_timer_;
    CgiResponseParser parser_;
    Phase phase_ = Phase::reading_head;
    int status_ = 0;
    uint64_t bytes_sent_ = 0;
    std::optional<uint64_t> declared_length_;  // the script's own Content-Length
    bool discard_body_ = false;                // HEAD, 204, 304: the body is not sent
    bool output_paused_ = false;
    bool close_after_drain_ = false;  // a short body: cut the connection once sent

    ReceivedBody body_;       // the request body; what is not yet written to stdin
    uint64_t body_sent_ = 0;  // bytes of a spooled body already given to stdin
    EventPtr stdin_event_;
    EventPtr stdout_event_;
    EventPtr exit_event_;
    EventPtr silence_timer_;
    EventPtr total_timer_;
    EventPtr kill_timer_;
    EventPtr client_event_;
    EventPtr drained_event_;
    EventPtr exit_wait_timer_;  // stdout ended mid-stream: how long to wait for the exit
    // nph- scripts (RFC 3875 §5): their output goes to the client unparsed.
    bool nph_ = false;
    NphRelay nph_relay_;

    // For the status counters and the combined-cgi access log.
    ScriptRun run_;
    double spawned_at_ = 0;  // monotonic seconds
    bool recorded_ = false;
    // combined-cgi: the access-log line (status, body bytes) waits for the reap.
    std::optional<std::pair<int, uint64_t>> deferred_line_;
};

}  // namespace cgihost
