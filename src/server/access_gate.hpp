// The gate every request passes before anything touches its target: the address rules
// (--allow, 403), then Basic authentication (--basic-auth, 401). One per worker loop.
//
// Passwords are never checked on the loop: the request waits here while a verifier thread
// (password_verifier) checks it, and the verdict comes back to this loop through a mailbox
// event. Each waiting request has an id; a verdict whose id is gone (the client hung up, and
// the request with its connection was freed) is dropped, so no late verdict touches freed
// memory. A wrong password's 401 may also wait here, for the login throttle's delay.
//
// What needs no password check (the address rules, a missing or malformed Authorization
// header, the login throttle) is decided by decide_access, which the intake also consults
// from a request's head, so that such a request is refused before its body is received.
#pragma once

#include <event2/http.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "http/http_message.hpp"
#include "http/received_body.hpp"
#include "security/basic_credentials.hpp"
#include "security/password_verifier.hpp"
#include "server/server_context.hpp"
#include "util/event_ptr.hpp"

namespace cgihost {

// What the gate decides about a request without verifying a password.
struct AccessDecision {
    std::optional<Response> refusal;  // 403, 401 or 429: the answer, whatever the body
    const AuthArea* area = nullptr;   // else the area whose password is to be checked, if any
    BasicCredentials credentials;     // with `area`: the credentials to check
};

// Pure but for reading the login throttle: the address rules (403), then for a path in an
// auth area the Authorization header (401 without one that parses as Basic) and the throttle
// (429 while the client is blocked). Neither refused nor in an area means admitted.
AccessDecision decide_access(const ServerContext& context, const Site& site,
                             const Request& request);

class AccessGateHost {
  public:
    virtual event_base* event_loop() = 0;
    // The Site the request began with (server_context.hpp): its rules decide it throughout.
    virtual std::shared_ptr<const Site> site_for(evhttp_request* req) = 0;
    // Sends a complete response and writes the access-log line.
    virtual void respond(evhttp_request* req, const Request& request, Response&& response) = 0;
    virtual void log_access(const Request& request, int status, uint64_t bytes) = 0;
    // The request may go on to its target (static file or script).
    virtual void admitted(evhttp_request* req, Request request, int redirect_hops,
                          ReceivedBody body) = 0;

  protected:
    ~AccessGateHost() = default;
};

class AccessGate {
  public:
    AccessGate(AccessGateHost& host, const ServerContext& context);
    ~AccessGate();  // the loop has stopped; verdicts still on their way are dropped
    AccessGate(const AccessGate&) = delete;
    AccessGate& operator=(const AccessGate&) = delete;

    // Once the host's loop exists.
    void init();
    // Decides `request`: answers it (403, 401, 429, 503), or hands it to host.admitted, now or
    // once its password is checked. A local redirect (RFC 3875 §6.2.2) comes through here
    // again, as Apache's internal redirects do: its new path meets its own rules, checked with
    // the same Authorization header; a user already authenticated stays REMOTE_USER where the
    // new path needs none.
    void check(evhttp_request* req, Request request, int redirect_hops, ReceivedBody body);
    // evhttp is freeing `connection` (and the request waiting on it): forget that request.
    void forget(evhttp_connection* connection);

  private:
    struct Waiting;
    struct Mailbox;

    void authenticate(evhttp_request* req, Request request, int redirect_hops, ReceivedBody body,
                      const AuthArea& area, BasicCredentials credentials);
    Waiting& park(evhttp_request* req, Request request, int redirect_hops, ReceivedBody body);
    void start_verification(Waiting& waiting);
    std::unique_ptr<Waiting> take(uint64_t id);
    void on_verdict(uint64_t id, PasswordVerdict verdict);
    void refuse_after_delay(std::unique_ptr<Waiting> waiting);
    void challenge(evhttp_request* req, const Request& request);
    void client_left(const Waiting& waiting);
    static void on_mailbox(evutil_socket_t, short, void* self);
    static void on_delay_over(evutil_socket_t, short, void* waiting);
    static void on_client_closed(evutil_socket_t, short, void* waiting);

    AccessGateHost& host_;
    const ServerContext& context_;
    std::shared_ptr<Mailbox> mailbox_;
    EventPtr mailbox_event_;
    uint64_t next_id_ = 1;
    std::unordered_map<uint64_t, std::unique_ptr<Waiting>> waiting_;
    std::unordered_map<evhttp_connection*, uint64_t> waiting_by_connection_;
};

}  // namespace cgihost
