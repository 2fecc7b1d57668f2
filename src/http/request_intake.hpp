// Everything a client sends passes through here before evhttp sees it. The intake sits
// between the connection's socket and evhttp as a bufferevent filter (evhttp_set_bevcb):
// - with --proxy-protocol, the PROXY header is read and taken off before the framer sees a
//   byte (over TLS, by the transport before the handshake); a connection without a valid one
//   is closed (and counted in ProxyRefusals);
// - the RequestFramer checks every head and owns the body's framing, so evhttp is handed one
//   approved head at a time, without Content-Length, Transfer-Encoding or Expect;
// - the body is received here, in memory up to the spool threshold and in an unlinked
//   temporary file beyond it, against the server-wide BodyMemoryBudget;
// - while a request is being answered, the next (pipelined) bytes wait in a small socket
//   buffer and the socket is not read beyond it;
// - before a body is received, the server's check of the head may refuse the request (the
//   access rules: 403, 401, 429), so that a client that may not send it is not let send it;
// - the RequestDeadline drops clients that send too slowly (408);
// - a refused request (400, 413, 417, 501, 503…) is answered here, then the rest of what the
//   client sends is read and discarded for a while (a lingering close), so that a client
//   still sending its body receives the answer instead of a connection reset.
// Output is written to the socket from the loop, never from inside evhttp's calls. The socket
// is in the clear or TLS (connection_transport): the intake works the same over either.
#pragma once

#include <event2/bufferevent.h>
#include <event2/http.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/body_memory_budget.hpp"
#include "http/connection_transport.hpp"
#include "http/http_message.hpp"
#include "http/proxy_protocol.hpp"
#include "http/received_body.hpp"
#include "http/request_deadline.hpp"
#include "http/request_framer.hpp"
#include "security/access_rules.hpp"
#include "server/log.hpp"
#include "util/event_ptr.hpp"
#include "util/owned_counter.hpp"

namespace cgihost {

struct IntakeSettings {
    FramingLimits framing;
    RequestTimeouts timeouts;
    uint64_t spool_threshold = uint64_t{256} * 1024;  // bodies beyond this go to a file
    std::string spool_dir = "/tmp";                   // where those files are made
    // Seconds a connection may idle between requests. The intake keeps this clock itself, so
    // that a request already waiting in the socket when it runs out (the loop was busy) is
    // served rather than dropped with the connection.
    double keep_alive_timeout = 15;
    // Seconds an answer the intake wrote itself (a quick answer, a refusal) may stall in the
    // socket's buffer before the connection is dropped (--write-timeout).
    double write_timeout = 60;
    // --proxy-protocol: every connection starts with a PROXY header naming the client.
    bool proxy_protocol = false;
    // --trusted-proxies: peers whose forwarding headers name the client (forwarded.hpp).
    std::vector<AddressRange> trusted_proxies;
};

// Connections closed for want of a valid PROXY header, reported in one warning per period
// rather than a line each: a scanner's thousands of attempts must not flood the log.
// Shared by every worker.
class ProxyRefusals {
  public:
    static constexpr double kReportInterval = 60;
    void note(Logger& logger, const std::string& what);

  private:
    std::mutex mutex_;
    double next_report_ = 0;
    uint64_t unreported_ = 0;
};

class RequestIntake {
  public:
    using AccessLogger = std::function<void(const Request&, int status, uint64_t bytes)>;
    // Called with a request whose head declares a body, before any of the body is received
    // (or 100 Continue sent): the response that refuses it, or nullopt to receive the body.
    // The request has its method, version, target, path, query, header fields, client
    // address and `https`; nothing else.
    using BodyCheck = std::function<std::optional<Response>(const Request&)>;
    // Called with a body-less request whose head has just arrived, between responses: the
    // whole response when the server can give it at once without evhttp (a small static file
    // it holds in memory: http/quick_response.hpp), already logged; nullopt hands the request
    // to evhttp as usual. The request is as for BodyCheck.
    using QuickAnswer =
        std::function<std::optional<std::string>(evhttp_connection*, const Request&)>;
    struct Services {
        // Kept for the connection's life: a reload gives new connections new settings.
        std::shared_ptr<const IntakeSettings> settings;
        BodyMemoryBudget& budget;
        Logger& logger;
        AccessLogger log_access;
        BodyCheck check_before_body;              // empty: every body is received
        OwnedCounter* bytes_received = nullptr;   // counts what the requests take from the socket
        ProxyRefusals* proxy_refusals = nullptr;  // needed with settings.proxy_protocol
        QuickAnswer quick_answer;                 // empty: evhttp answers every request
    };

    // Makes the filter evhttp is to use over the transport's bufferevent; the filter owns the
    // intake (and the intake the transport), which lives until libevent frees the filter.
    // nullptr when libevent fails.
    static bufferevent* create(event_base* base, std::unique_ptr<ConnectionTransport> transport,
                               Services services, RequestIntake** intake);

    RequestIntake(const RequestIntake&) = delete;
    RequestIntake& operator=(const RequestIntake&) = delete;
    ~RequestIntake();

    // evhttp made its connection around the filter: the first head is due from now.
    void attach(evhttp_connection* connection);
    // evhttp is freeing the connection: no callback may touch it any more.
    void detach();
    // The settings this connection began with.
    const IntakeSettings& settings() const { return *services_.settings; }
    // The body of the request evhttp has just handed us (present = false when none).
    ReceivedBody take_body();
    // The response is complete: read the next request.
    void resume();
    // The connection's TLS facts; nullopt in the clear.
    std::optional<TlsSessionFacts> tls_facts() const { return transport_->tls_facts(); }
    bool is_tls() const { return transport_->is_tls(); }
    // Bytes of an answer the intake wrote itself still wait for the client to take them: the
    // connection is answering, not idle, and a server stopping waits for them.
    bool sending() const { return unsent_bytes() > 0; }
    // Sets who the client is, and the scheme it used, on a request whose header fields are
    // filled: the connection's peer, or the PROXY header's source, or what a trusted proxy's
    // forwarding headers say. Every later decision (--allow, the per-client caps, the login
    // throttle, REMOTE_ADDR, the access log) sees that address.
    void identify_client(Request& request) const;

  private:
    enum class Mode { receiving, holding, lingering };

    RequestIntake(event_base* base, std::unique_ptr<ConnectionTransport> transport,
                  Services services);
    static bufferevent_filter_result filter_input(evbuffer* src, evbuffer* dst, ev_ssize_t,
                                                  bufferevent_flush_mode, void* self);
    static bufferevent_filter_result filter_output(evbuffer* src, evbuffer*, ev_ssize_t,
                                                   bufferevent_flush_mode, void* self);
    static void on_output_added(evbuffer*, const evbuffer_cb_info* info, void* self);
    static void on_flush(evutil_socket_t, short, void* self);
    static void on_resume(evutil_socket_t, short, void* self);
    static void on_deadline(evutil_socket_t, short, void* self);
    static void on_close_now(evutil_socket_t, short, void* self);
    static void on_idle_timeout(evutil_socket_t, short, void* self);
    bool has_unread_input() const;
    size_t unsent_bytes() const;  // what send_raw left in the socket bufferevent's output

    std::optional<bufferevent_filter_result> read_proxy_header(evbuffer* src);
    void settle_proxy_header(const ProxyHeader& header);
    bufferevent_filter_result receive(evbuffer* src, evbuffer* dst);
    bufferevent_filter_result discard(evbuffer* src);
    bufferevent_filter_result write_out(evbuffer* src);
    bool take_step(evbuffer* src, evbuffer* dst, RequestFramer::Step step);
    bool read_more_body(evbuffer* src);
    bool begin_body(const evbuffer* src);
    bool is_refused_before_body();
    bool store_body(evbuffer* src, size_t length);
    bool start_spool();
    bool write_to_spool(evbuffer* from, size_t length);
    bool answer_quickly();
    void await_next_request();
    void deliver(evbuffer* dst);
    void refuse(int status, const std::string& reason);
    void refuse(Response response, const std::string& reason);
    void send_raw(std::string_view bytes, bool then_shut_down);
    void arm_deadline();
    void drop_late_client();
    void refuse_proxy_client(const std::string& why);
    Request describe_request() const;
    Request describe_head() const;
    int socket_fd() const;

    event_base* base_;
    Services services_;
    std::unique_ptr<ConnectionTransport> transport_;  // its bufferevent is the filter's underlying
    bufferevent* filter_ = nullptr;                   // what evhttp reads and writes
    evhttp_connection* connection_ = nullptr;
    Mode mode_ = Mode::receiving;
    bool awaiting_proxy_header_ = false;
    std::optional<ProxyEndpoint> proxied_peer_;  // the PROXY header's source
    RequestFramer framer_;
    RequestDeadline deadline_;
    ReceivedBody body_;
    uint64_t lingered_bytes_ = 0;
    size_t unsent_at_last_look_ = 0;  // on_idle_timeout's view of sending(), to see progress
    int reads_this_wake_ = 0;
    bool flushing_ = false;  // only the loop's flush event writes to the socket
    EventPtr flush_event_;   // scheduled when evhttp adds output; also waits for EV_WRITE
    EventPtr resume_event_;
    EventPtr deadline_timer_;
    EventPtr close_event_;
    EventPtr idle_timer_;  // keep-alive: armed when a response is done, until the next request
};

}  // namespace cgihost
