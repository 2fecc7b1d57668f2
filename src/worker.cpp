#include "worker.hpp"

#include <time.h>

#include "evhttp_adapter.hpp"
#include "http_status.hpp"
#include "static_files.hpp"

namespace cgihost {
namespace {

// evhttp refuses heads beyond this many times our configured limit by itself (with 413);
// below it, validate_request answers 414/431 so clients get the precise status.
constexpr uint64_t kEvhttpHeadSlack = 4;
constexpr double kDrainTickSeconds = 0.05;
constexpr ev_uint16_t kAllMethods = EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                    EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH;

double monotonic_seconds() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

}  // namespace

Worker::Worker(const ServerContext& context) : context_(context) {}

Worker::~Worker() {
    join();
    // Sessions go first (killing and reaping their scripts), then evhttp frees the
    // connections, whose close callbacks must find no session to notify.
    sessions_.clear();
    connections_.clear();
    http_.reset();
}

std::string Worker::init(std::vector<UniqueFd> listeners) {
    base_.reset(event_base_new());
    if (!base_) return "cannot create an event loop";
    http_.reset(evhttp_new(base_.get()));
    if (!http_) return "cannot create the HTTP server";
    const Config& config = context_.config;
    evhttp_set_gencb(http_.get(), &Worker::on_request, this);
    // We answer every method ourselves (405/501) rather than let evhttp refuse some.
    evhttp_set_allowed_methods(http_.get(), kAllMethods);
    evhttp_set_max_headers_size(
        http_.get(),
        static_cast<ev_ssize_t>(config.max_header_size * kEvhttpHeadSlack + config.max_uri_size));
    evhttp_set_max_body_size(http_.get(), static_cast<ev_ssize_t>(config.max_body_size));
    timeval read_timeout = to_timeval(config.read_timeout);
    evhttp_set_timeout_tv(http_.get(), &read_timeout);
    evhttp_set_default_content_type(http_.get(), nullptr);
    for (auto& fd : listeners) {
        evhttp_bound_socket* bound = evhttp_accept_socket_with_handle(http_.get(), fd.get());
        if (bound == nullptr) return "cannot accept on a listening socket";
        fd.release();  // evhttp closes it now
        bound_.push_back(bound);
    }
    stop_event_.reset(event_new(base_.get(), -1, 0, &Worker::on_stop, this));
    drain_timer_.reset(event_new(base_.get(), -1, EV_PERSIST, &Worker::on_drain_tick, this));
    sessions_finished_event_.reset(
        event_new(base_.get(), -1, 0, &Worker::on_sessions_finished, this));
    return {};
}

void Worker::start() {
    thread_ = std::thread([this] { event_base_dispatch(base_.get()); });
}

void Worker::request_stop() {
    if (stop_event_) event_active(stop_event_.get(), EV_READ, 0);
}

void Worker::join() {
    if (thread_.joinable()) thread_.join();
}

void Worker::on_stop(evutil_socket_t, short, void* self) {
    auto* worker = static_cast<Worker*>(self);
    for (evhttp_bound_socket* bound : worker->bound_) {
        evhttp_del_accept_socket(worker->http_.get(), bound);
    }
    worker->bound_.clear();
    worker->draining_ = true;
    worker->drain_deadline_ = monotonic_seconds() + worker->context_.config.shutdown_grace;
    timeval tick = to_timeval(kDrainTickSeconds);
    event_add(worker->drain_timer_.get(), &tick);
    on_drain_tick(-1, 0, self);
}

void Worker::on_drain_tick(evutil_socket_t, short, void* self) {
    auto* worker = static_cast<Worker*>(self);
    if (worker->in_flight() == 0 || monotonic_seconds() >= worker->drain_deadline_) {
        event_del(worker->drain_timer_.get());
        event_base_loopexit(worker->base_.get(), nullptr);
    }
}

size_t Worker::in_flight() const {
    size_t total = 0;
    for (const auto& [connection, state] : connections_)
        total += static_cast<size_t>(state.busy);
    return total;
}

void Worker::on_request(evhttp_request* req, void* self) {
    static_cast<Worker*>(self)->handle(req);
}

void Worker::track_request(evhttp_request* req) {
    evhttp_connection* connection = evhttp_request_get_connection(req);
    if (connection == nullptr) return;
    auto [it, inserted] = connections_.try_emplace(connection);
    if (inserted) evhttp_connection_set_closecb(connection, &Worker::on_connection_close, this);
    ++it->second.busy;
    evhttp_request_set_on_complete_cb(req, &Worker::on_request_complete, this);
    timeval write_timeout = to_timeval(context_.config.write_timeout);
    evhttp_connection_set_timeout_tv(connection, &write_timeout);
}

void Worker::on_request_complete(evhttp_request* req, void* self) {
    auto* worker = static_cast<Worker*>(self);
    evhttp_connection* connection = evhttp_request_get_connection(req);
    auto it = worker->connections_.find(connection);
    if (it != worker->connections_.end() && it->second.busy > 0) --it->second.busy;
    if (connection != nullptr) {
        // The connection now idles until the client's next request.
        timeval idle = to_timeval(worker->context_.config.keep_alive_timeout);
        evhttp_connection_set_timeout_tv(connection, &idle);
    }
}

void Worker::on_connection_close(evhttp_connection* connection, void* self) {
    auto* worker = static_cast<Worker*>(self);
    auto it = worker->connections_.find(connection);
    if (it == worker->connections_.end()) return;
    CgiSession* session = it->second.session;
    worker->connections_.erase(it);
    if (session != nullptr) session->on_connection_closed();
}

void Worker::attach_session(evhttp_request* req, CgiSession* session) {
    auto it = connections_.find(evhttp_request_get_connection(req));
    if (it != connections_.end()) it->second.session = session;
}

void Worker::detach_session(evhttp_request* req) {
    auto it = connections_.find(evhttp_request_get_connection(req));
    if (it != connections_.end()) it->second.session = nullptr;
}

void Worker::session_finished(CgiSession* session) {
    finished_sessions_.push_back(session);
    event_active(sessions_finished_event_.get(), EV_READ, 0);
}

void Worker::on_sessions_finished(evutil_socket_t, short, void* self) {
    auto* worker = static_cast<Worker*>(self);
    for (CgiSession* session : std::exchange(worker->finished_sessions_, {})) {
        worker->sessions_.erase(session);
    }
}

void Worker::respond(evhttp_request* req, const Request& request, Response&& response) {
    if (draining_) response.close_connection = true;
    int code = response.status;
    uint64_t bytes = send_response(req, request, std::move(response));
    log_access(request, code, bytes);
}

void Worker::log_access(const Request& request, int code, uint64_t bytes) {
    AccessRecord record;
    record.remote_addr = request.remote_addr;
    record.time = time(nullptr);
    record.request_line = request.method + " " + request.target + " " + request.protocol();
    record.status = code;
    record.body_bytes = bytes;
    if (const std::string* referer = request.header("Referer")) record.referer = *referer;
    if (const std::string* agent = request.header("User-Agent")) record.user_agent = *agent;
    context_.logger.access(record);
}

void Worker::handle(evhttp_request* req) {
    track_request(req);
    Request request = make_request(req);
    if (auto refusal = validate_request(request, context_.limits)) {
        respond(req, request, std::move(*refusal));
        return;
    }
    dispatch(req, std::move(request), 0);
}

void Worker::redirect_locally(evhttp_request* req, Request request, int hops) {
    dispatch(req, std::move(request), hops);
}

void Worker::dispatch(evhttp_request* req, Request request, int redirect_hops) {
    Target target = resolve_target(context_.resolver, request.path);
    if (target.kind != TargetKind::cgi_script) {
        Response response =
            serve_static_target(request, target, context_.mime_types, context_.static_options);
        respond(req, request, std::move(response));
        return;
    }
    fill_local_address(req, request);
    auto session = std::make_unique<CgiSession>(*this, context_, req, std::move(request),
                                                std::move(target), redirect_hops);
    CgiSession* raw = session.get();
    sessions_.emplace(raw, std::move(session));
    raw->start();
}

}  // namespace cgihost
