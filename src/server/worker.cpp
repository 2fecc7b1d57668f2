#include "server/worker.hpp"

#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "files/static_files.hpp"
#include "http/evhttp_adapter.hpp"
#include "http/http_status.hpp"
#include "http/https_redirect.hpp"
#include "http/quick_response.hpp"
#include "http/request_deadline.hpp"
#include "status/status_response.hpp"

namespace cgihost {
namespace {

constexpr double kDrainTickSeconds = 0.05;
// Longer URL paths are not remembered by the file cache: every spelling of a path is its own
// key, and a client must not fill a worker's memory with long spellings of one file.
constexpr size_t kMaxCachedPathBytes = 512;
// After accept() fails (out of descriptors, typically), the listeners rest this long: the
// failing connection stays queued, so retrying at once would spin the loop at 100 % CPU.
constexpr int kAcceptRetryMilliseconds = 250;
constexpr double kAcceptWarningInterval = 10;
constexpr ev_uint16_t kAllMethods = EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                    EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH;

// The worker whose loop runs on this thread. Only the accept-error callback needs it: evhttp
// owns its listeners and hands that callback no argument of ours.
thread_local Worker* t_loop_owner = nullptr;

// A quarter of the descriptors stays for what requests need besides their connection: a
// script's three pipes and pidfd, a static file, the logs.
constexpr uint64_t kConnectionShareOfFdsNumerator = 3;
constexpr uint64_t kConnectionShareOfFdsDenominator = 4;

// This worker's share of --max-connections (or of its default), rounded up.
size_t connection_cap(const Config& config) {
    uint64_t total = config.max_connections;
    if (total == 0) {
        rlimit limit{};
        (void)::getrlimit(RLIMIT_NOFILE, &limit);
        total = static_cast<uint64_t>(limit.rlim_cur) * kConnectionShareOfFdsNumerator /
                kConnectionShareOfFdsDenominator;
    }
    const uint64_t threads = std::max(1u, config.threads);
    return static_cast<size_t>(std::max<uint64_t>(1, (total + threads - 1) / threads));
}

}  // namespace

Worker::Worker(const ServerContext& context) : context_(context) {}

Worker::~Worker() {
    join();
    // Sessions go first (killing and reaping their scripts), then evhttp frees the
    // connections, whose close callbacks must find no session to notify.
    sessions_.clear();
    gate_.reset();  // its parked requests are evhttp's, freed with their connections
    connections_.clear();
    http_.reset();
    https_.reset();
    for (auto [bev, intake] : std::exchange(unadopted_, {}))
        bufferevent_decref(bev);
}

std::string Worker::init(std::vector<ListeningSocket> listeners) {
    // With the changelist, a socket's interest changes are handed to epoll once per loop turn,
    // so the read pause while a response is made and the resume once it is sent, both in the
    // same turn for a small static file, cancel out instead of costing two epoll_ctl calls.
    // Its caveat: a descriptor dup()ed within one loop can leave a stale epoll entry when one
    // copy is closed before its deletion is handed over. The nph relay holds such a copy of the
    // client socket; it closes both copies in the same loop turn, so the entry goes with them.
    {
        std::unique_ptr<event_config, decltype(&event_config_free)> config(event_config_new(),
                                                                           &event_config_free);
        if (!config) return "cannot create an event loop";
        event_config_set_flag(config.get(), EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        base_.reset(event_base_new_with_config(config.get()));
    }
    if (!base_) return "cannot create an event loop";
    http_.reset(evhttp_new(base_.get()));
    if (!http_) return "cannot create the HTTP server";
    configure(http_.get(), &Worker::on_new_connection);
    connection_cap_ = connection_cap(context_.config);
    for (auto& listener : listeners) {
        // TLS connections get their own evhttp, whose bevcb puts TLS under the intake.
        if (listener.tls && !https_) {
            https_.reset(evhttp_new(base_.get()));
            if (!https_) return "cannot create the HTTPS server";
            configure(https_.get(), &Worker::on_new_tls_connection);
        }
        evhttp* http = listener.tls ? https_.get() : http_.get();
        evhttp_bound_socket* bound = evhttp_accept_socket_with_handle(http, listener.fd.get());
        if (bound == nullptr) return "cannot accept on a listening socket";
        listener.fd.release();  // evhttp closes it now
        evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(bound),
                                    &Worker::on_accept_error);
        bound_.emplace_back(http, bound);
    }
    adopt_event_.reset(event_new(base_.get(), -1, 0, &Worker::on_adopt_connections, this));
    accept_resume_timer_.reset(event_new(base_.get(), -1, 0, &Worker::on_accept_resume, this));
    stop_event_.reset(event_new(base_.get(), -1, 0, &Worker::on_stop, this));
    drain_timer_.reset(event_new(base_.get(), -1, EV_PERSIST, &Worker::on_drain_tick, this));
    sessions_finished_event_.reset(
        event_new(base_.get(), -1, 0, &Worker::on_sessions_finished, this));
    gate_ = std::make_unique<AccessGate>(*this, context_);
    gate_->init();
    if (!context_.config.status_url.empty() || !context_.config.metrics_url.empty()) {
        bool samples_history = false;
        metrics_ = &context_.metrics.add_worker(&samples_history);
        if (samples_history) {
            sample_timer_.reset(
                event_new(base_.get(), -1, EV_PERSIST, &Worker::on_sample_tick, this));
            timeval interval = to_timeval(kHistoryIntervalSeconds);
            event_add(sample_timer_.get(), &interval);
        }
    }
    return {};
}

void Worker::on_sample_tick(evutil_socket_t, short, void* self) {
    auto* worker = static_cast<Worker*>(self);
    worker->context_.metrics.sample(monotonic_seconds(), time(nullptr));
}

// The settings both evhttps share; `new_connection` decides what lies under the intake.
void Worker::configure(evhttp* http, NewConnectionCallback new_connection) {
    const Config& config = context_.config;
    evhttp_set_gencb(http, &Worker::on_request, this);
    // We answer every method ourselves (405/501) rather than let evhttp refuse some.
    evhttp_set_allowed_methods(http, kAllMethods);
    // The intake refuses longer heads first; this is evhttp's own bound, kept as a backstop.
    evhttp_set_max_headers_size(
        http, static_cast<ev_ssize_t>(make_intake_settings(config).framing.max_head_size));
    // Bodies never reach evhttp: the intake receives them and hands evhttp body-less heads.
    evhttp_set_max_body_size(http, 0);
    timeval read_timeout = to_timeval(config.read_timeout);
    evhttp_set_timeout_tv(http, &read_timeout);
    evhttp_set_default_content_type(http, nullptr);
    evhttp_set_bevcb(http, new_connection, this);
}

void Worker::start() {
    thread_ = std::thread([this] {
        t_loop_owner = this;
        event_base_dispatch(base_.get());
    });
}

void Worker::request_stop() {
    if (stop_event_) event_active(stop_event_.get(), EV_READ, 0);
}

void Worker::join() {
    if (thread_.joinable()) thread_.join();
}

void Worker::on_stop(evutil_socket_t, short, void* self) {
    auto* worker = static_cast<Worker*>(self);
    for (auto [http, bound] : worker->bound_) {
        evhttp_del_accept_socket(http, bound);
    }
    worker->bound_.clear();
    event_del(worker->accept_resume_timer_.get());
    worker->sample_timer_.reset();  // a persistent timer would keep the loop from ending
    // Requests waiting for a script slot would only wait out the grace period: 503 now.
    worker->context_.cgi_admission.close();
    for (auto& [raw, session] : worker->sessions_)
        session->on_server_stopping();
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
    for (const auto& [connection, state] : connections_) {
        total += static_cast<size_t>(state.busy);
        // A quick answer (no evhttp request, so not busy) still leaving for a slow reader.
        if (state.busy == 0 && state.intake != nullptr && state.intake->sending()) ++total;
    }
    return total;
}

void Worker::on_request(evhttp_request* req, void* self) {
    static_cast<Worker*>(self)->handle(req);
}

void Worker::track_request(evhttp_request* req) {
    evhttp_connection* connection = evhttp_request_get_connection(req);
    if (connection == nullptr) return;
    // Adopted at accept, normally; one evhttp made without us goes unwatched but counted.
    auto [it, inserted] = connections_.try_emplace(connection);
    if (inserted) {
        evhttp_connection_set_closecb(connection, &Worker::on_connection_close, this);
        if (metrics_ != nullptr) metrics_->connection_opened();
    }
    ++it->second.busy;
    evhttp_request_set_on_complete_cb(req, &Worker::on_request_complete, this);
    it->second.site = context_.sites.current();
    timeval write_timeout = to_timeval(it->second.site->config.write_timeout);
    evhttp_connection_set_timeout_tv(connection, &write_timeout);
}

std::shared_ptr<const Site> Worker::site_for(evhttp_request* req) {
    auto it = connections_.find(evhttp_request_get_connection(req));
    if (it != connections_.end() && it->second.site) return it->second.site;
    return context_.sites.current();
}

void Worker::on_request_complete(evhttp_request* req, void* self) {
    auto* worker = static_cast<Worker*>(self);
    evhttp_connection* connection = evhttp_request_get_connection(req);
    auto it = worker->connections_.find(connection);
    if (it != worker->connections_.end()) {
        ConnectionState& state = it->second;
        if (state.busy > 0) --state.busy;
        state.file_stream.reset();                            // its last piece is out
        if (state.intake != nullptr) state.intake->resume();  // the next request may be here
        // The connection now idles until the client's next request. The intake enforces
        // keep-alive-timeout (it can tell an idle connection from a busy loop); evhttp's
        // timeout is only the backstop behind it.
        if (state.intake != nullptr) {
            timeval idle = to_timeval(state.intake->settings().keep_alive_timeout +
                                      worker->context_.config.read_timeout);
            evhttp_connection_set_timeout_tv(connection, &idle);
        }
        state.site.reset();
    }
}

void Worker::on_connection_close(evhttp_connection* connection, void* self) {
    auto* worker = static_cast<Worker*>(self);
    auto it = worker->connections_.find(connection);
    if (it == worker->connections_.end()) return;
    CgiSession* session = it->second.session;
    if (it->second.intake != nullptr) it->second.intake->detach();
    worker->connections_.erase(it);
    if (worker->metrics_ != nullptr) worker->metrics_->connection_closed();
    worker->update_listening();
    if (worker->gate_) worker->gate_->forget(connection);
    if (session != nullptr) session->on_connection_closed();
}

bufferevent* Worker::on_new_connection(event_base* base, void* self) {
    return static_cast<Worker*>(self)->make_connection(base, make_plain_transport(base));
}

bufferevent* Worker::on_new_tls_connection(event_base* base, void* self) {
    auto* worker = static_cast<Worker*>(self);
    // The context of this moment: a reload later changes what new connections get, and this
    // one keeps its own.
    return worker->make_connection(base, make_tls_transport(base, worker->context_.tls->current()));
}

bufferevent* Worker::make_connection(event_base* base,
                                     std::unique_ptr<ConnectionTransport> transport) {
    RequestIntake* intake = nullptr;
    std::shared_ptr<const Site> site = context_.sites.current();
    // A copy, so that a connection kept open holds its settings and not the whole Site; one
    // copy per site and worker, shared by its connections (10,000 idle ones cost 10,000
    // copies otherwise).
    if (intake_settings_site_ != site) {
        intake_settings_ = std::make_shared<const IntakeSettings>(site->intake);
        intake_settings_site_ = site;
    }
    RequestIntake::Services services{intake_settings_,
                                     context_.body_budget,
                                     context_.logger,
                                     [this](const Request& request, int code, uint64_t bytes) {
                                         log_access(request, code, bytes);
                                     },
                                     check_before_body(),
                                     metrics_ != nullptr ? &metrics_->bytes_received() : nullptr,
                                     &context_.proxy_refusals,
                                     [this](evhttp_connection* connection, const Request& request) {
                                         return answer_quickly(connection, request);
                                     }};
    // evhttp sets the descriptor and its callbacks on what we return.
    bufferevent* bev =
        RequestIntake::create(base, std::move(transport), std::move(services), &intake);
    if (bev == nullptr) return nullptr;
    // evhttp has not made the connection yet, and may free it at once if that fails; our
    // reference keeps `bev` (and its intake) valid until on_adopt_connections looks, later in
    // this iteration.
    bufferevent_incref(bev);
    unadopted_.emplace_back(bev, intake);
    event_active(adopt_event_.get(), EV_READ, 0);
    update_listening();
    return bev;
}

// What the access gate can refuse from a request's head alone, it refuses before the body
// arrives: a client that may not send a body to a URL is not let send it there.
// The rules are those of the moment the head arrives, as the gate's after it.
RequestIntake::BodyCheck Worker::check_before_body() const {
    return [&context = context_](const Request& request) -> std::optional<Response> {
        const std::shared_ptr<const Site> site = context.sites.current();
        const AccessPolicy& policy = site->access;
        if (policy.allow.empty() && policy.auth_areas.empty()) return std::nullopt;
        // What on_request answers before the gate keeps its precedence, so such a request is
        // still decided after its body: a malformed one's 400, and the redirect to HTTPS (a
        // 401 in the clear would invite the password in the clear).
        if (validate_request(request, site->limits)) return std::nullopt;
        if (!request.https && site->config.redirect_to_https) return std::nullopt;
        return decide_access(context, *site, request).refusal;
    };
}

// The intake's quick path (http/quick_response.hpp): a GET or HEAD of a small file this worker
// holds in memory, unchanged, is answered in full here, as soon as its head has arrived, with
// no evhttp request made. Anything else, or anything about which evhttp's path would decide
// differently (a Connection field, HTTP/1.0, a status other than 200, the access rules, the
// status and health URLs, the redirect to HTTPS, a server stopping), returns nullopt and takes
// that path. Checked in the order handle(), the gate and admitted() check.
std::optional<std::string> Worker::answer_quickly(evhttp_connection* connection,
                                                  const Request& request) {
    if (draining_ || context_.shutting_down.load()) return std::nullopt;
    if (request.method != "GET" && !request.is_head()) return std::nullopt;
    if (request.version_minor != 1 || request.header("Connection") != nullptr) return std::nullopt;
    if (is_health_check(request) || match_status_request(context_.config, request))
        return std::nullopt;
    const std::shared_ptr<const Site> site = context_.sites.current();
    if (validate_request(request, site->limits)) return std::nullopt;
    if (!request.https && site->config.redirect_to_https) return std::nullopt;
    AccessDecision access = decide_access(context_, *site, request);
    if (access.refusal || access.area != nullptr) return std::nullopt;
    std::optional<FileCache::Hit> hit = cached_file(site, request.path, true);
    if (!hit) return std::nullopt;
    Response response = respond_with_file(request, hit->facts, UniqueFd());
    if (response.status != status::ok) return std::nullopt;  // 304, 206… the usual path
    if (request.https && site->config.hsts > 0) {
        response.headers.insert(response.headers.begin(), {"Strict-Transport-Security",
                                                           hsts_header_value(site->config.hsts)});
    }
    auto it = connections_.find(connection);
    if (it != connections_.end() && !it->second.answered_quickly) {
        // evhttp never sees these requests, so it still times the connection as one awaiting
        // its first: give it the idle backstop on_request_complete would have given.
        it->second.answered_quickly = true;
        timeval idle = to_timeval(it->second.intake->settings().keep_alive_timeout +
                                  context_.config.read_timeout);
        evhttp_connection_set_timeout_tv(connection, &idle);
    }
    std::string bytes = render_quick_response(response, request.is_head(), current_http_date());
    write_access_record(request, response.status, request.is_head() ? 0 : response.body_length(),
                        nullptr);
    return bytes;
}

// The remembered file for a URL path, if the path still leads to it. The file's identity alone
// does not say so: a symlink on the way switched (a "current" release link), removed, or a
// directory moved out of the docroot and linked back would leave the old file unchanged. So
// the path is walked again (an lstat per segment), and the walk's stat of the file is what
// shows it unchanged; what is saved is the open, read, close and formatting of it.
std::optional<FileCache::Hit> Worker::cached_file(const std::shared_ptr<const Site>& site,
                                                  const std::string& raw_path,
                                                  bool in_memory_only) {
    if (raw_path.size() > kMaxCachedPathBytes) return std::nullopt;
    if (!file_cache_.knows(site, raw_path, in_memory_only)) return std::nullopt;
    // --file-check-interval: a recent enough check stands in for this one.
    const double interval = site->config.file_check_interval;
    const double now = interval > 0 ? monotonic_seconds() : 0;
    if (interval > 0) {
        if (auto hit = file_cache_.find_checked_since(site, raw_path, now - interval)) return hit;
    }
    // The walk's stat() of the file doubles as the check that it is unchanged, and an unchanged
    // file (st_ctime included: chmod, chown, ACLs) is still readable, so access() is left out.
    const Target target = resolve_target(site->resolver, raw_path, false);
    if (target.kind != TargetKind::static_file) {
        file_cache_.forget(raw_path);
        return std::nullopt;  // the usual path serves it, and remembers the new answer
    }
    std::optional<FileCache::Hit> hit =
        file_cache_.find(site, raw_path, in_memory_only, &target.file_info, now);
    if (!hit || target.file_path != hit->facts->path) return std::nullopt;
    return hit;
}

void Worker::on_adopt_connections(evutil_socket_t, short, void* self) {
    auto* worker = static_cast<Worker*>(self);
    for (auto [bev, intake] : std::exchange(worker->unadopted_, {})) {
        // evhttp gave the bufferevent its callbacks with the connection as their argument;
        // bufferevent_free clears them, so none means evhttp already let it go.
        bufferevent_data_cb read_cb = nullptr;
        void* connection = nullptr;
        bufferevent_getcb(bev, &read_cb, nullptr, nullptr, &connection);
        if (read_cb != nullptr && connection != nullptr)
            worker->adopt(static_cast<evhttp_connection*>(connection), intake);
        bufferevent_decref(bev);
    }
    worker->update_listening();  // one evhttp dropped at once frees its place
}

void Worker::adopt(evhttp_connection* connection, RequestIntake* intake) {
    auto [it, inserted] = connections_.try_emplace(connection);
    if (!inserted) return;
    evhttp_connection_set_closecb(connection, &Worker::on_connection_close, this);
    if (metrics_ != nullptr) metrics_->connection_opened();
    it->second.intake = intake;
    intake->attach(connection);
}

void Worker::on_accept_error(evconnlistener*, void*) {
    const int error_number = errno;
    if (t_loop_owner != nullptr) t_loop_owner->pause_accepting(error_number);
}

// Out of descriptors, accept() fails but leaves the connection queued, so the listening
// socket stays readable and libevent would call accept() again at once, forever. Rest the
// listeners instead; queued clients wait (or time out) until descriptors are free again.
void Worker::pause_accepting(int error_number) {
    set_listening(false);
    timeval wait = to_timeval(kAcceptRetryMilliseconds / 1000.0);
    event_add(accept_resume_timer_.get(), &wait);
    const double now = monotonic_seconds();
    if (now >= next_accept_warning_) {
        next_accept_warning_ = now + kAcceptWarningInterval;
        context_.logger.warn(std::string("cannot accept connections: ") +
                             std::strerror(error_number) + "; retrying every " +
                             std::to_string(kAcceptRetryMilliseconds) + " ms");
    }
}

void Worker::on_accept_resume(evutil_socket_t, short, void* self) {
    static_cast<Worker*>(self)->update_listening();
}

// Listens unless at the connection cap (then further clients wait in the kernel's listen
// queue until one leaves) or resting after an accept() failure.
void Worker::update_listening() {
    set_listening(!at_capacity() &&
                  !event_pending(accept_resume_timer_.get(), EV_TIMEOUT, nullptr));
}

void Worker::set_listening(bool enabled) {
    for (auto [http, bound] : bound_) {
        evconnlistener* listener = evhttp_bound_socket_get_listener(bound);
        if (enabled) {
            (void)evconnlistener_enable(listener);
        } else {
            (void)evconnlistener_disable(listener);
        }
    }
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
    const int code = response.status;
    const uint64_t bytes = send_unlogged(req, request, std::move(response));
    log_access(request, code, bytes);
}

uint64_t Worker::send_unlogged(evhttp_request* req, const Request& request, Response&& response) {
    // Stopping: the client (a balancer, typically) opens its next connection elsewhere.
    if (draining_ || context_.shutting_down.load()) response.close_connection = true;
    evhttp_connection* connection = evhttp_request_get_connection(req);
    std::unique_ptr<FileStream> stream;
    const uint64_t bytes = send_response(req, request, std::move(response), &stream);
    if (!stream) return bytes;
    // Kept with its connection; a connection already gone (the first piece failed) takes it.
    auto it = connections_.find(connection);
    if (it != connections_.end()) it->second.file_stream = std::move(stream);
    return bytes;
}

void Worker::log_access(const Request& request, int code, uint64_t bytes) {
    write_access_record(request, code, bytes, nullptr);
}

bool Worker::logs_script_usage() const {
    return context_.config.access_log_format == "combined-cgi";
}

void Worker::log_script_access(const Request& request, int code, uint64_t bytes,
                               const ScriptRun& run) {
    write_access_record(request, code, bytes, &run);
}

// Every response's one access-log line, and its count for the status (status/).
void Worker::write_access_record(const Request& request, int code, uint64_t bytes,
                                 const ScriptRun* run) {
    if (metrics_ != nullptr) metrics_->count_response(code, bytes);
    AccessRecord record;
    record.usage_fields = logs_script_usage();
    if (record.usage_fields && run != nullptr && run->spawned) {
        constexpr uint64_t kBytesPerKiB = 1024;
        record.script_usage =
            AccessRecord::ScriptUsage{run->cpu_seconds, run->peak_rss_bytes / kBytesPerKiB};
    }
    record.remote_addr = request.remote_addr;
    record.remote_user = request.remote_user;
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
    const std::shared_ptr<const Site> site = site_for(req);
    Request request = make_request(req);
    ReceivedBody body;
    auto it = connections_.find(evhttp_request_get_connection(req));
    if (it != connections_.end() && it->second.intake != nullptr) {
        body = it->second.intake->take_body();
        it->second.intake->identify_client(request);
        request.tls = it->second.intake->tls_facts();
    }
    if (is_health_check(request)) {
        answer_health_check(req, request);
        return;
    }
    if (request.https && site->config.hsts > 0) {
        // Set now, so every reply to this request carries it: static, CGI, errors.
        evhttp_add_header(evhttp_request_get_output_headers(req), "Strict-Transport-Security",
                          hsts_header_value(site->config.hsts).c_str());
    }
    // The intake took Content-Length or chunked framing off the head; scripts see the length
    // of the body as received (RFC 3875 §4.1.2).
    if (body.present) request.headers.emplace_back("Content-Length", std::to_string(body.length));
    if (auto refusal = validate_request(request, site->limits)) {
        respond(req, request, std::move(*refusal));
        return;
    }
    if (!request.https && site->config.redirect_to_https) {
        fill_local_address(req, request);  // the host when the client named none (HTTP/1.0)
        respond(req, request,
                make_https_redirect(request, context_.https_port, request.local_addr,
                                    site->cgi.environment.server_names));
        return;
    }
    dispatch(req, std::move(request), 0, std::move(body));
}

bool Worker::is_health_check(const Request& request) const {
    const std::string& url = context_.config.health_url;
    return !url.empty() && request.path == url && (request.method == "GET" || request.is_head());
}

// --health-url: for the load balancer, answered before the access rules and unlogged (it asks
// every few seconds). 503 from the moment SIGTERM arrives, so it stops sending us requests.
void Worker::answer_health_check(evhttp_request* req, const Request& request) {
    const bool stopping = draining_ || context_.shutting_down.load();
    Response response;
    response.status = stopping ? status::service_unavailable : status::ok;
    response.body = stopping ? "shutting down\n" : "ok\n";
    response.add_header("Content-Type", "text/plain; charset=utf-8");
    response.add_header("Cache-Control", "no-store");
    response.close_connection = stopping;
    send_response(req, request, std::move(response));
}

void Worker::redirect_locally(evhttp_request* req, Request request, int hops) {
    dispatch(req, std::move(request), hops, {});  // RFC 3875 §6.2.2: the body is not resent
}

void Worker::dispatch(evhttp_request* req, Request request, int redirect_hops, ReceivedBody body) {
    gate_->check(req, std::move(request), redirect_hops, std::move(body));
}

void Worker::admitted(evhttp_request* req, Request request, int redirect_hops, ReceivedBody body) {
    if (serve_status(req, request)) return;
    std::shared_ptr<const Site> site = site_for(req);
    const bool get_or_head = request.method == "GET" || request.is_head();
    if (get_or_head) {
        if (std::optional<FileCache::Hit> hit = cached_file(site, request.path, false)) {
            respond(req, request, respond_with_file(request, hit->facts, std::move(hit->file)));
            return;
        }
    }
    Target target = resolve_target(site->resolver, request.path);
    if (target.kind != TargetKind::cgi_script) {
        std::shared_ptr<const FileFacts> served;
        Response response =
            serve_static_target(request, target, site->mime_types, site->static_options, &served);
        if (served && get_or_head && request.path.size() <= kMaxCachedPathBytes) {
            timespec now{};
            clock_gettime(CLOCK_REALTIME, &now);
            const double checked = site->config.file_check_interval > 0 ? monotonic_seconds() : 0;
            file_cache_.remember(site, request.path, std::move(served), now, checked);
        }
        respond(req, request, std::move(response));
        return;
    }
    fill_local_address(req, request);
    if (refuse_nph_over_tls(req, request, target)) return;
    auto session =
        std::make_unique<CgiSession>(*this, context_, std::move(site), req, std::move(request),
                                     std::move(target), redirect_hops, std::move(body));
    CgiSession* raw = session.get();
    sessions_.emplace(raw, std::move(session));
    raw->start();
}

// --status-url and --metrics-url, answered here: after the access gate, before the file tree.
bool Worker::serve_status(evhttp_request* req, const Request& request) {
    const std::optional<StatusResource> resource = match_status_request(context_.config, request);
    if (!resource) return false;
    const StatusReport report =
        *resource == StatusResource::page ? StatusReport{} : gather_status_report(context_);
    respond(req, request, make_status_response(*resource, request, report));
    return true;
}

// An nph- script writes its whole response, status line included, straight to the client's
// socket (RFC 3875 §5); over TLS those bytes would go out in the clear inside the encrypted
// stream. Such scripts are refused there, before they start.
bool Worker::refuse_nph_over_tls(evhttp_request* req, const Request& request,
                                 const Target& target) {
    const std::string_view file = target.file_path;
    if (!request.tls_connection || !file.substr(file.rfind('/') + 1).starts_with("nph-"))
        return false;
    context_.logger.error("cgi " + target.script_name +
                          ": nph- scripts cannot run over HTTPS (they write to the socket "
                          "themselves); 500");
    respond(req, request,
            make_error_response(status::internal_server_error,
                                "Non-parsed-header scripts are not available over HTTPS."));
    return true;
}

}  // namespace cgihost
