#include "server/access_gate.hpp"

#include <event2/bufferevent.h>
#include <event2/event.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <optional>
#include <vector>

#include "http/http_status.hpp"
#include "http/request_deadline.hpp"
#include "security/basic_credentials.hpp"

namespace cgihost {
namespace {

constexpr int kClientClosedRequest = 499;  // nginx's code, in the access log only

std::string describe_seconds(double seconds) {
    char text[32];
    (void)std::snprintf(text, sizeof text, "%g s", seconds);
    return text;
}

std::string describe_milliseconds(double seconds) {
    return std::to_string(static_cast<long>(std::lround(seconds * 1000))) + " ms";
}

// The credentials of the one Authorization header; nullopt when there is none, more than one,
// or one that is not well-formed Basic.
std::optional<BasicCredentials> credentials_of(const Request& request) {
    const std::string* header = request.header("Authorization");
    if (header == nullptr || count_headers(request.headers, "Authorization") != 1) return {};
    return parse_basic_authorization(*header);
}

Response make_too_many_failures_response(double wait_seconds) {
    Response response = make_error_response(status::too_many_requests,
                                            "Too many wrong passwords; try again later.");
    // RFC 6585 §4: Retry-After says how long to wait before a new request.
    response.add_header("Retry-After",
                        std::to_string(std::max(1L, static_cast<long>(std::ceil(wait_seconds)))));
    return response;
}

Response make_challenge_response(const std::string& realm) {
    Response response =
        make_error_response(status::unauthorized, "This page needs a user name and password.");
    response.add_header("WWW-Authenticate", make_basic_challenge(realm));
    return response;
}

}  // namespace

AccessDecision decide_access(const ServerContext& context, const Site& site,
                             const Request& request) {
    const AccessPolicy& policy = site.access;
    AccessDecision decision;
    if (policy.allow.empty() && policy.auth_areas.empty()) return decision;
    // A path that does not normalise is refused by resolve_target (400) before any file.
    auto path = normalize_url_path(request.path);
    if (!path) return decision;
    if (!is_address_allowed(policy.allow, *path, request.remote_addr)) {
        decision.refusal = make_error_response(status::forbidden);
        return decision;
    }
    const AuthArea* area = find_auth_area(policy.auth_areas, *path);
    if (area == nullptr) return decision;
    auto credentials = credentials_of(request);
    if (!credentials) {
        decision.refusal = make_challenge_response(policy.realm);
        return decision;
    }
    const std::string client = throttle_key(request.remote_addr);
    if (auto wait_for = context.login_throttle.blocked_for(client, monotonic_seconds())) {
        decision.refusal = make_too_many_failures_response(*wait_for);
        return decision;
    }
    decision.area = area;
    decision.credentials = std::move(*credentials);
    return decision;
}

// One request whose password a verifier thread is checking, or whose 401 waits out the
// login throttle's delay. It holds the request until then; its connection may go first.
struct AccessGate::Waiting {
    AccessGate* gate = nullptr;
    uint64_t id = 0;
    evhttp_request* req = nullptr;
    evhttp_connection* connection = nullptr;
    Request request;
    int redirect_hops = 0;
    ReceivedBody body;
    std::string prefix;  // of the auth area, for the log
    std::string user;
    std::string password;       // for the cache, once verified (the header holds it anyway)
    std::string hash;           // the user's stored hash
    std::string client;         // throttle_key of the client's address
    bool unknown_user = false;  // checked against another user's hash, only to take as long
    EventPtr client_closed;
    EventPtr delay;
};

// Verdicts cross from the verifier threads to this loop here. The gate owns the event; the
// verifier's jobs share the mailbox, which outlives the gate and then drops what comes.
struct AccessGate::Mailbox {
    std::mutex mutex;
    std::vector<std::pair<uint64_t, PasswordVerdict>> verdicts;
    event* wake = nullptr;  // nullptr once the gate is gone

    void post(uint64_t id, PasswordVerdict verdict) {
        std::lock_guard lock(mutex);
        if (wake == nullptr) return;
        verdicts.emplace_back(id, verdict);
        event_active(wake, EV_READ, 0);  // safe from any thread: the loop has its lock
    }
};

AccessGate::AccessGate(AccessGateHost& host, const ServerContext& context)
    : host_(host), context_(context), mailbox_(std::make_shared<Mailbox>()) {}

AccessGate::~AccessGate() {
    std::lock_guard lock(mailbox_->mutex);
    mailbox_->wake = nullptr;
}

void AccessGate::init() {
    mailbox_event_.reset(event_new(host_.event_loop(), -1, 0, &AccessGate::on_mailbox, this));
    std::lock_guard lock(mailbox_->mutex);
    mailbox_->wake = mailbox_event_.get();
}

void AccessGate::check(evhttp_request* req, Request request, int redirect_hops, ReceivedBody body) {
    // Held while the decision's area (a part of it) is in use.
    const std::shared_ptr<const Site> site = host_.site_for(req);
    AccessDecision decision = decide_access(context_, *site, request);
    if (decision.refusal) return host_.respond(req, request, std::move(*decision.refusal));
    if (decision.area == nullptr) {
        return host_.admitted(req, std::move(request), redirect_hops, std::move(body));
    }
    authenticate(req, std::move(request), redirect_hops, std::move(body), *decision.area,
                 std::move(decision.credentials));
}

void AccessGate::authenticate(evhttp_request* req, Request request, int redirect_hops,
                              ReceivedBody body, const AuthArea& area,
                              BasicCredentials credentials) {
    const std::string client = throttle_key(request.remote_addr);
    const double now = monotonic_seconds();
    const auto& users = area.users.users;
    auto user = users.find(credentials.user);
    if (user != users.end() && context_.verified_cache.contains(
                                   credentials.user, credentials.password, user->second, now)) {
        request.auth_type = "Basic";
        request.remote_user = credentials.user;
        return host_.admitted(req, std::move(request), redirect_hops, std::move(body));
    }
    Waiting& waiting = park(req, std::move(request), redirect_hops, std::move(body));
    waiting.prefix = area.prefix;
    waiting.user = std::move(credentials.user);
    waiting.password = std::move(credentials.password);
    waiting.client = client;
    if (user == users.end()) {
        if (users.empty()) return refuse_after_delay(take(waiting.id));
        // An unknown user's password is checked all the same, against another user's hash and
        // then ignored, so that the time a 401 takes does not tell which users exist.
        waiting.unknown_user = true;
        user = users.begin();
    }
    waiting.hash = user->second;
    start_verification(waiting);
}

void AccessGate::start_verification(Waiting& waiting) {
    std::shared_ptr<Mailbox> mailbox = mailbox_;
    const uint64_t id = waiting.id;
    if (context_.password_verifier.submit(
            waiting.password, waiting.hash,
            [mailbox, id](PasswordVerdict verdict) { mailbox->post(id, verdict); })) {
        context_.logger.debug("basic auth: checking the password of user '" + waiting.user +
                              "' from " + waiting.request.remote_addr);
        return;
    }
    auto refused = take(id);
    context_.logger.warn("basic auth: the password queue is full; 503 to " +
                         refused->request.remote_addr);
    host_.respond(refused->req, refused->request,
                  make_retry_later_response("Too many passwords are waiting to be checked."));
}

// Parks the request under a new id, watching its client, until a verdict or a delay ends.
AccessGate::Waiting& AccessGate::park(evhttp_request* req, Request request, int redirect_hops,
                                      ReceivedBody body) {
    auto waiting = std::make_unique<Waiting>();
    waiting->gate = this;
    waiting->id = next_id_++;
    waiting->req = req;
    waiting->connection = evhttp_request_get_connection(req);
    waiting->request = std::move(request);
    waiting->redirect_hops = redirect_hops;
    waiting->body = std::move(body);
    // evhttp does not read the socket while we answer: a client that hangs up is seen
    // through EV_CLOSED (EPOLLRDHUP), as CgiSession sees it.
    if (waiting->connection != nullptr) {
        int fd = bufferevent_getfd(evhttp_connection_get_bufferevent(waiting->connection));
        waiting->client_closed.reset(event_new(host_.event_loop(), fd, EV_CLOSED,
                                               &AccessGate::on_client_closed, waiting.get()));
        event_add(waiting->client_closed.get(), nullptr);
        waiting_by_connection_[waiting->connection] = waiting->id;
    }
    Waiting& parked = *waiting;
    waiting_.emplace(parked.id, std::move(waiting));
    return parked;
}

std::unique_ptr<AccessGate::Waiting> AccessGate::take(uint64_t id) {
    auto it = waiting_.find(id);
    if (it == waiting_.end()) return nullptr;
    std::unique_ptr<Waiting> waiting = std::move(it->second);
    waiting_.erase(it);
    waiting_by_connection_.erase(waiting->connection);
    return waiting;
}

void AccessGate::forget(evhttp_connection* connection) {
    auto it = waiting_by_connection_.find(connection);
    if (it == waiting_by_connection_.end()) return;
    auto waiting = take(it->second);
    if (waiting) client_left(*waiting);
}

void AccessGate::client_left(const Waiting& waiting) {
    context_.logger.info("basic auth: " + waiting.request.remote_addr +
                         " left before its answer for user '" + waiting.user + "'");
    host_.log_access(waiting.request, kClientClosedRequest, 0);
}

void AccessGate::on_mailbox(evutil_socket_t, short, void* self) {
    auto* gate = static_cast<AccessGate*>(self);
    std::vector<std::pair<uint64_t, PasswordVerdict>> verdicts;
    {
        std::lock_guard lock(gate->mailbox_->mutex);
        verdicts.swap(gate->mailbox_->verdicts);
    }
    for (const auto& [id, verdict] : verdicts)
        gate->on_verdict(id, verdict);
}

void AccessGate::on_verdict(uint64_t id, PasswordVerdict verdict) {
    auto waiting = take(id);
    if (!waiting) {
        context_.logger.debug("basic auth: a verdict came for a request that is gone; dropped");
        return;
    }
    if (waiting->unknown_user) {
        context_.logger.info("basic auth: unknown user '" + waiting->user + "' from " +
                             waiting->request.remote_addr + " for " + waiting->prefix);
        return refuse_after_delay(std::move(waiting));
    }
    if (!verdict.matched) {
        context_.logger.info("basic auth: wrong password for user '" + waiting->user + "' from " +
                             waiting->request.remote_addr + " for " + waiting->prefix);
        return refuse_after_delay(std::move(waiting));
    }
    if (verdict.shared) {
        context_.logger.debug("basic auth: user '" + waiting->user +
                              "' verified by a check already under way");
    } else {
        context_.logger.info("basic auth: verified user '" + waiting->user + "' for " +
                             waiting->prefix + " in " + describe_milliseconds(verdict.seconds));
    }
    context_.verified_cache.insert(waiting->user, waiting->password, waiting->hash,
                                   monotonic_seconds());
    waiting->request.auth_type = "Basic";
    waiting->request.remote_user = waiting->user;
    host_.admitted(waiting->req, std::move(waiting->request), waiting->redirect_hops,
                   std::move(waiting->body));
}

// A wrong password or an unknown user: counted against the client, then a 401 at once or
// after the throttle's delay, during which the request stays parked.
void AccessGate::refuse_after_delay(std::unique_ptr<Waiting> waiting) {
    const double delay =
        context_.login_throttle.record_failure(waiting->client, monotonic_seconds());
    if (delay <= 0) return challenge(waiting->req, waiting->request);
    context_.logger.debug("basic auth: the 401 to " + waiting->request.remote_addr + " waits " +
                          describe_seconds(delay));
    waiting->delay.reset(
        evtimer_new(host_.event_loop(), &AccessGate::on_delay_over, waiting.get()));
    timeval wait_for = to_timeval(delay);
    event_add(waiting->delay.get(), &wait_for);
    const uint64_t id = waiting->id;
    if (waiting->connection != nullptr) waiting_by_connection_[waiting->connection] = id;
    waiting_.emplace(id, std::move(waiting));
}

void AccessGate::on_delay_over(evutil_socket_t, short, void* raw) {
    auto* parked = static_cast<Waiting*>(raw);
    AccessGate* gate = parked->gate;
    auto waiting = gate->take(parked->id);  // freed on return, its timer with it
    gate->challenge(waiting->req, waiting->request);
}

void AccessGate::on_client_closed(evutil_socket_t, short, void* raw) {
    auto* parked = static_cast<Waiting*>(raw);
    AccessGate* gate = parked->gate;
    auto waiting = gate->take(parked->id);  // freed on return, this event with it
    gate->client_left(*waiting);
    // Frees the request too; the host's close callback finds nothing left here to forget.
    if (waiting->connection != nullptr) evhttp_connection_free(waiting->connection);
}

void AccessGate::challenge(evhttp_request* req, const Request& request) {
    host_.respond(req, request, make_challenge_response(host_.site_for(req)->access.realm));
}

}  // namespace cgihost
