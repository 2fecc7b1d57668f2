#include "cgi/cgi_session.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cgi/cgi_environment.hpp"
#include "files/static_files.hpp"
#include "http/evhttp_adapter.hpp"
#include "http/http_status.hpp"
#include "http/request_deadline.hpp"
#include "server/version.hpp"

namespace cgihost {
namespace {

constexpr size_t kReadChunk = size_t{64} * 1024;
// Stop reading the script while this much is still waiting for a slow client, so memory
// per request stays bounded however fast the script writes.
constexpr size_t kMaxPendingOutput = size_t{256} * 1024;
constexpr int kMaxLocalRedirects = 10;
// Once stdout has ended, how long a streamed response waits to learn how the script ended.
// The exit follows the end of output within a loop turn or two; a script that closes stdout
// and goes on working (a background job) ends its response normally when this runs out.
constexpr double kExitAfterOutputWait = 0.2;  // RFC 3875 §6.2.2 sets none; loops must end

// Headers the server owns on the connection (RFC 9110 §7.6.1) and its own extension.
bool is_server_header(const std::string& name) {
    return equals_ignore_case(name, "Content-Length") || equals_ignore_case(name, "X-Sendfile") ||
           equals_ignore_case(name, "Server");
}

CgiRequestInfo make_request_info(const Request& request, const Target& target,
                                 const std::string& document_root, uint64_t body_size) {
    CgiRequestInfo info;
    info.method = request.method;
    info.protocol = request.protocol();
    info.request_uri = request.target;
    info.query_string = request.query;
    info.script_name = target.script_name;
    info.path_info = target.path_info;
    info.script_filename = target.file_path;
    info.document_root = document_root;
    info.headers = request.headers;
    info.has_body = request.header("Content-Length") != nullptr ||
                    request.header("Transfer-Encoding") != nullptr;
    info.content_length = body_size;
    info.remote_addr = request.remote_addr;
    info.remote_port = request.remote_port;
    info.server_addr = request.local_addr;
    info.server_port = request.local_port;
    info.https = request.https;
    if (request.tls) {
        info.ssl_protocol = request.tls->protocol;
        info.ssl_cipher = request.tls->cipher;
        info.ssl_tls_sni = request.tls->sni;
    }
    info.auth_type = request.auth_type;
    info.remote_user = request.remote_user;
    return info;
}

// The script's path is absolute and canonical ("/srv/cgi-bin/app"): its last '/' separates
// the directory from the file name, with no std::filesystem::path parsing on every request.
std::string_view file_name_of(std::string_view path) {
    return path.substr(path.rfind('/') + 1);
}

std::string directory_of(std::string_view path) {
    size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) return {};
    return std::string(path.substr(0, slash == 0 ? 1 : slash));  // "/app" lies in "/"
}

std::string format_seconds(double seconds) {
    char text[32];
    (void)std::snprintf(text, sizeof text, "%g s", seconds);
    return text;
}

}  // namespace

CgiSession::CgiSession(CgiSessionHost& host, const ServerContext& context,
                       std::shared_ptr<const Site> site, evhttp_request* req, Request request,
                       Target target, int redirect_hops, ReceivedBody body)
    : host_(host),
      context_(context),
      site_(std::move(site)),
      req_(req),
      request_(std::move(request)),
      target_(std::move(target)),
      redirect_hops_(redirect_hops),
      stderr_logger_(context.logger, site_->cgi.stderr_limit),
      body_(std::move(body)) {
    // RFC 3875 §5: a script whose name starts with "nph-" writes the whole HTTP response.
    nph_ = file_name_of(target_.file_path).starts_with("nph-");
}

CgiSession::~CgiSession() {
    leave_queue();
    release_slot();
    // Stopped before its script was reaped (the server shuts down): the line still goes out.
    if (deferred_line_) host_.log_access(request_, deferred_line_->first, deferred_line_->second);
}

std::string CgiSession::describe_waiter() const {
    return "cgi " + target_.script_name + " for " + request_.remote_addr;
}

std::string CgiSession::describe() const {
    return "cgi " + target_.script_name + " pid " + std::to_string(process_.pid());
}

void CgiSession::start() {
    host_.attach_session(req_, this);
    slot_event_.reset(event_new(host_.event_loop(), -1, 0, &CgiSession::on_slot_granted, this));
    event* slot_granted = slot_event_.get();
    // Runs on the worker that frees the slot, under the admission lock: only post.
    auto wake = [slot_granted] { event_active(slot_granted, EV_READ, 0); };
    switch (context_.cgi_admission.admit(request_.remote_addr, wake, ticket_)) {
        case CgiAdmission::Decision::run:
            counted_ = true;
            return launch();
        case CgiAdmission::Decision::queued:
            return wait_for_slot();
        case CgiAdmission::Decision::client_over_cap:
            context_.logger.info(describe_waiter() +
                                 ": its client has cgi-max-per-client scripts running or "
                                 "queued; 503");
            return refuse_for_now("Too many scripts of yours are running; try again shortly.");
        case CgiAdmission::Decision::queue_full:
            context_.logger.warn(describe_waiter() +
                                 ": every script slot and queue place is taken; 503");
            return refuse_for_now("Too many scripts are running; try again shortly.");
    }
}

void CgiSession::launch() {
    if (auto error = spawn(); !error.empty()) {
        const int spawn_errno = errno;  // spawn_cgi leaves the failing call's errno
        context_.logger.error("cgi " + target_.script_name + ": " + error);
        // Out of descriptors or processes is a passing shortage of the server's, not a
        // broken script: 503 with Retry-After (RFC 9110 §15.6.4) rather than 502.
        if (spawn_errno == EMFILE || spawn_errno == ENFILE || spawn_errno == EAGAIN) {
            return refuse_for_now("The server is short of resources; try again shortly.");
        }
        note_failure(ScriptFailure::exec_failed);
        fail(status::bad_gateway, error);
        maybe_finished();
        return;
    }
    run_.spawned = true;
    spawned_at_ = monotonic_seconds();
    if (WorkerMetrics* metrics = host_.metrics()) metrics->script_spawned();
    watch_pipes();
    if (nph_) {
        take_over_connection();
    } else {
        watch_client();
    }
}

// Waits, first come first served across all workers, until a script ends somewhere and its
// slot is handed to us; meanwhile a client that hangs up leaves the queue at once.
void CgiSession::wait_for_slot() {
    queued_ = true;
    context_.logger.debug(describe_waiter() + ": every script slot is taken; queued");
    queue_timer_.reset(evtimer_new(host_.event_loop(), &CgiSession::on_queue_timeout, this));
    timeval wait = to_timeval(site_->cgi.queue_timeout);
    event_add(queue_timer_.get(), &wait);
    watch_client();
}

void CgiSession::on_slot_granted(evutil_socket_t, short, void* self) {
    auto* session = static_cast<CgiSession*>(self);
    session->queued_ = false;
    session->queue_timer_.reset();
    session->counted_ = true;
    session->client_event_.reset();  // launch() watches the client its own way (nph: not)
    session->launch();
}

void CgiSession::on_queue_timeout(evutil_socket_t, short, void* self) {
    auto* session = static_cast<CgiSession*>(self);
    // Not in the queue any more: a slot is ours and on_slot_granted is already posted.
    if (!session->context_.cgi_admission.withdraw(session->ticket_)) return;
    session->queued_ = false;
    session->slot_event_.reset();
    session->refuse_for_now("No script slot became free in time; try again shortly.");
}

void CgiSession::on_server_stopping() {
    if (!queued_) return;
    leave_queue();
    refuse_for_now("The server is shutting down.");
}

// Gives up the place in the queue, so nothing is spawned for this request; a slot handed to
// it in the meantime goes straight back (to the next waiter, if any).
void CgiSession::leave_queue() {
    if (!queued_) return;
    queued_ = false;
    queue_timer_.reset();
    context_.logger.debug(describe_waiter() + ": left the queue");
    // withdraw() first: once it returns, no worker is inside our wake-up any more, so the
    // event may go (freeing it also cancels a wake-up already posted).
    const bool held_nothing = context_.cgi_admission.withdraw(ticket_);
    slot_event_.reset();
    if (!held_nothing) context_.cgi_admission.release(request_.remote_addr);
}

void CgiSession::release_slot() {
    if (!counted_) return;
    counted_ = false;
    context_.cgi_admission.release(request_.remote_addr);
}

void CgiSession::refuse_for_now(const char* message) {
    phase_ = Phase::done;
    host_.respond(release_request(), request_, make_retry_later_response(message));
    maybe_finished();
}

std::string CgiSession::spawn() {
    const CgiSettings& cgi = site_->cgi;
    SpawnRequest spawn;
    CgiRequestInfo info =
        make_request_info(request_, target_, site_->resolver.docroot, body_.length);
    spawn.envp = build_cgi_environment(info, cgi.environment, ::getenv);
    spawn.argv = build_cgi_argv(target_.file_path, request_.method, request_.query);
    spawn.program = target_.file_path;
    if (!target_.interpreter.empty()) {
        spawn.program = target_.interpreter;
        spawn.argv.insert(spawn.argv.begin(), target_.interpreter);
    }
    spawn.working_directory = directory_of(target_.file_path);
    spawn.limits = cgi.limits;
    spawn.run_as = cgi.run_as ? &*cgi.run_as : nullptr;
    return spawn_cgi(spawn, process_);
}

void CgiSession::watch_pipes() {
    event_base* base = host_.event_loop();
    if (body_.length > 0) {
        stdin_event_.reset(event_new(base, process_.stdin_pipe().get(), EV_WRITE | EV_PERSIST,
                                     &CgiSession::on_stdin_writable, this));
        event_add(stdin_event_.get(), nullptr);
    } else {
        process_.stdin_pipe().reset();  // RFC 3875 §4.2: no body, immediate EOF
        body_ = {};
    }
    stdout_event_.reset(event_new(base, process_.stdout_pipe().get(), EV_READ | EV_PERSIST,
                                  &CgiSession::on_stdout_readable, this));
    exit_event_.reset(
        event_new(base, process_.pidfd(), EV_READ, &CgiSession::on_process_exit, this));
    silence_timer_.reset(evtimer_new(base, &CgiSession::on_silence_timeout, this));
    total_timer_.reset(evtimer_new(base, &CgiSession::on_total_timeout, this));
    event_add(stdout_event_.get(), nullptr);
    stderr_logger_.start(base, std::move(process_.stderr_pipe()), describe(),
                         [this] { maybe_finished(); });
    event_add(exit_event_.get(), nullptr);
    timeval silence = to_timeval(site_->cgi.timeout);
    timeval total = to_timeval(site_->cgi.max_time);
    event_add(silence_timer_.get(), &silence);
    event_add(total_timer_.get(), &total);
}

// evhttp does not read the socket while we answer, so a client that hangs up is seen
// through EV_CLOSED (EPOLLRDHUP) on its socket.
void CgiSession::watch_client() {
    evhttp_connection* connection = evhttp_request_get_connection(req_);
    if (connection == nullptr) return;
    int fd = bufferevent_getfd(evhttp_connection_get_bufferevent(connection));
    client_event_.reset(
        event_new(host_.event_loop(), fd, EV_CLOSED, &CgiSession::on_client_closed, this));
    event_add(client_event_.get(), nullptr);
}

void CgiSession::on_stdin_writable(evutil_socket_t fd, short, void* self) {
    auto* session = static_cast<CgiSession*>(self);
    if (!session->feed_stdin(fd)) {
        // Done, or the script closed its stdin early (EPIPE): it may still answer.
        session->stdin_event_.reset();
        session->process_.stdin_pipe().reset();
        session->body_ = {};  // its memory share and its temporary file go now
    }
}

// Writes what the pipe takes of the body; false once it is all written or cannot be. A
// spooled body moves from its file to the pipe inside the kernel (splice).
bool CgiSession::feed_stdin(int fd) {
    if (body_.file) {
        auto offset = static_cast<loff_t>(body_sent_);
        const ssize_t moved = ::splice(body_.file.get(), &offset, fd, nullptr,
                                       static_cast<size_t>(body_.length - body_sent_),
                                       SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (moved > 0) body_sent_ += static_cast<uint64_t>(moved);
        const bool failed = moved == 0 || (moved < 0 && errno != EAGAIN && errno != EINTR);
        return !failed && body_sent_ < body_.length;
    }
    const int written = evbuffer_write(body_.memory.get(), fd);
    const bool failed = written < 0 && errno != EAGAIN && errno != EINTR;
    return !failed && evbuffer_get_length(body_.memory.get()) > 0;
}

void CgiSession::on_stdout_readable(evutil_socket_t fd, short, void* self) {
    auto* session = static_cast<CgiSession*>(self);
    char buffer[kReadChunk];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        n = 0;  // a broken pipe ends the output like EOF
    }
    if (n == 0) {
        session->finish_output();
    } else {
        if (session->run_.first_byte_seconds < 0)
            session->run_.first_byte_seconds = monotonic_seconds() - session->spawned_at_;
        timeval silence = to_timeval(session->site_->cgi.timeout);
        event_add(session->silence_timer_.get(), &silence);
        session->handle_output(buffer, static_cast<size_t>(n));
    }
    session->maybe_finished();
}

void CgiSession::handle_output(const char* data, size_t size) {
    if (nph_) return relay_nph_output(data, size);
    if (phase_ == Phase::streaming) return send_body(data, size);
    if (phase_ == Phase::done) return;
    if (phase_ == Phase::awaiting_redirect) {
        note_failure(ScriptFailure::malformed_output);
        return fail(status::bad_gateway, "a local redirect (RFC 3875 §6.2.2) must have no body");
    }
    size_t consumed = 0;
    switch (parser_.feed(std::string_view(data, size), consumed)) {
        case CgiResponseParser::Result::need_more:
            return;
        case CgiResponseParser::Result::error:
            note_failure(ScriptFailure::malformed_output);
            return fail(status::bad_gateway, parser_.error());
        case CgiResponseParser::Result::done:
            return handle_head(data + consumed, size - consumed);
    }
}

void CgiSession::handle_head(const char* rest, size_t rest_size) {
    const CgiResponseHead& head = parser_.head();
    if (head.kind == CgiResponseKind::local_redirect) {
        if (rest_size > 0) {
            note_failure(ScriptFailure::malformed_output);
            return fail(status::bad_gateway,
                        "a local redirect (RFC 3875 §6.2.2) must have no body");
        }
        phase_ = Phase::awaiting_redirect;
        return;
    }
    for (const auto& [name, value] : head.headers) {
        if (equals_ignore_case(name, "X-Sendfile")) return send_x_sendfile(value, head);
    }
    start_reply(head);
    if (rest_size > 0) send_body(rest, rest_size);
}

void CgiSession::start_reply(const CgiResponseHead& head) {
    evkeyvalq* out = evhttp_request_get_output_headers(req_);
    for (const auto& [name, value] : head.headers) {
        if (!is_server_header(name)) evhttp_add_header(out, name.c_str(), value.c_str());
    }
    evhttp_add_header(out, "Server", kServerSoftware);
    status_ = head.status;
    declared_length_ = head.content_length;
    discard_body_ = request_.is_head() || head.status == status::no_content ||
                    head.status == status::not_modified || head.status < 200;
    if (declared_length_)
        evhttp_add_header(out, "Content-Length", std::to_string(*declared_length_).c_str());
    // HTTP/1.0 has no chunked coding: the body ends when the connection closes. And once
    // shutdown begins (--shutdown-delay) the client opens its next connection elsewhere.
    if ((!declared_length_ && request_.version_minor == 0 && !discard_body_) ||
        context_.shutting_down.load()) {
        evhttp_add_header(out, "Connection", "close");
    }
    if (discard_body_) {
        end_response(head.status);
        evhttp_send_reply(release_request(), head.status, head.reason.c_str(), nullptr);
        return;
    }
    evhttp_send_reply_start(req_, head.status, head.reason.c_str());
    phase_ = Phase::streaming;
}

void CgiSession::send_body(const char* data, size_t size) {
    if (req_ == nullptr || discard_body_) return;
    if (declared_length_) {
        uint64_t room = *declared_length_ - bytes_sent_;
        if (size > room) {
            context_.logger.warn(describe() + ": output beyond its Content-Length of " +
                                 std::to_string(*declared_length_) + " bytes was cut off");
            size = static_cast<size_t>(room);
            discard_body_ = true;
        }
        if (size == 0) return;
    }
    EvbufferPtr chunk(evbuffer_new());
    evbuffer_add(chunk.get(), data, size);
    bytes_sent_ += size;
    evhttp_send_reply_chunk_with_cb(req_, chunk.get(), &CgiSession::on_chunk_sent, this);
    if (declared_length_ && bytes_sent_ == *declared_length_) {
        // The response is complete: the client may reuse or close the connection now, even
        // if the script takes longer to exit; later output is read and dropped.
        end_response(status_);
        evhttp_send_reply_end(release_request());
        return;
    }
    evhttp_connection* connection = evhttp_request_get_connection(req_);
    bufferevent* bev = connection ? evhttp_connection_get_bufferevent(connection) : nullptr;
    if (bev != nullptr && evbuffer_get_length(bufferevent_get_output(bev)) > kMaxPendingOutput) {
        output_paused_ = true;
        event_del(stdout_event_.get());
    }
}

void CgiSession::on_chunk_sent(evhttp_connection*, void* self) {
    auto* session = static_cast<CgiSession*>(self);
    if (session->close_after_drain_ && !session->drained_event_) {
        // Leave evhttp's write callback before freeing its connection.
        session->drained_event_.reset(
            evtimer_new(session->host_.event_loop(), &CgiSession::on_drained, session));
        timeval now{};
        event_add(session->drained_event_.get(), &now);
        return;
    }
    if (session->output_paused_ && session->stdout_event_) {
        session->output_paused_ = false;
        event_add(session->stdout_event_.get(), nullptr);
    }
}

void CgiSession::finish_output() {
    close_stdout();
    if (nph_) {
        if (nph_relay_.open()) follow_nph_relay(nph_relay_.flush());
        return;
    }
    if (phase_ == Phase::reading_head) {
        parser_.finish();
        note_failure(ScriptFailure::malformed_output);
        return fail(status::bad_gateway,
                    parser_.error().empty() ? "output ended in the headers" : parser_.error());
    }
    if (phase_ == Phase::awaiting_redirect) return redirect(*parser_.head().location);
    if (phase_ != Phase::streaming || req_ == nullptr) return;
    if (process_.running()) {
        // A crash after the head went out can no longer change the status, but it must not
        // look like a complete body: wait briefly for the exit before ending the response.
        exit_wait_timer_.reset(
            evtimer_new(host_.event_loop(), &CgiSession::on_exit_wait_over, this));
        timeval wait = to_timeval(kExitAfterOutputWait);
        event_add(exit_wait_timer_.get(), &wait);
        return;
    }
    end_stream();
}

void CgiSession::on_exit_wait_over(evutil_socket_t, short, void* self) {
    auto* session = static_cast<CgiSession*>(self);
    session->end_stream();
    session->maybe_finished();
}

bool CgiSession::crashed() const {
    return process_.pid() > 0 && !process_.running() && WIFSIGNALED(process_.wait_status());
}

void CgiSession::end_stream() {
    exit_wait_timer_.reset();
    if (phase_ != Phase::streaming || req_ == nullptr) return;
    if (crashed()) {
        // Chunked: the missing last chunk tells the client the body is cut short.
        context_.logger.warn(describe() + ": died after its response began; cutting it short");
        return close_when_drained();
    }
    if (declared_length_ && bytes_sent_ < *declared_length_) {
        // Ending normally would leave the client waiting for bytes that never come.
        context_.logger.warn(describe() + ": sent " + std::to_string(bytes_sent_) +
                             " bytes of its Content-Length " + std::to_string(*declared_length_) +
                             "; closing the connection");
        return close_when_drained();
    }
    end_response(status_);
    evhttp_send_reply_end(release_request());
}

// Freeing the connection at once would drop what still waits in its output buffer, so the
// cut comes after the last chunk's write callback.
void CgiSession::close_when_drained() {
    evhttp_connection* connection = evhttp_request_get_connection(req_);
    bufferevent* bev = connection ? evhttp_connection_get_bufferevent(connection) : nullptr;
    if (bev == nullptr || evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        return abort_connection();
    }
    close_after_drain_ = true;
}

void CgiSession::on_drained(evutil_socket_t, short, void* self) {
    auto* session = static_cast<CgiSession*>(self);
    session->drained_event_.reset();
    session->abort_connection();
    session->maybe_finished();
}

void CgiSession::redirect(const std::string& location) {
    if (redirect_hops_ + 1 > kMaxLocalRedirects) {
        context_.logger.error(describe() + ": more than " + std::to_string(kMaxLocalRedirects) +
                              " local redirects, last to " + location);
        return fail(status::internal_server_error, "Too many local redirects.");
    }
    Request next = request_;
    next.method = "GET";
    next.target = location;
    auto question = location.find('?');
    next.path = location.substr(0, question);
    next.has_query = question != std::string::npos;
    next.query = next.has_query ? location.substr(question + 1) : "";
    std::erase_if(next.headers, [](const auto& header) {
        return equals_ignore_case(header.first, "Content-Length") ||
               equals_ignore_case(header.first, "Content-Type") ||
               equals_ignore_case(header.first, "Transfer-Encoding");
    });
    close_stdout();
    phase_ = Phase::done;
    host_.redirect_locally(release_request(), std::move(next), redirect_hops_ + 1);
}

void CgiSession::send_x_sendfile(const std::string& path, const CgiResponseHead& head) {
    const std::string& root = site_->cgi.x_sendfile_root;
    std::error_code error;
    auto resolved = std::filesystem::canonical(path, error).string();
    if (root.empty()) {
        return fail(status::bad_gateway, "X-Sendfile is not enabled (cgi-x-sendfile-root)");
    }
    if (error || resolved.rfind(root + "/", 0) != 0) {
        return fail(status::forbidden, "X-Sendfile path '" + path + "' is outside " + root);
    }
    Response response = serve_regular_file(request_, resolved, site_->mime_types);
    if (response.status == status::ok || response.status == status::partial_content) {
        for (const auto& header : head.headers) {
            if (is_server_header(header.first)) continue;
            // The script's own headers (type, disposition) win over the file's defaults.
            std::erase_if(response.headers,
                          [&](const auto& h) { return equals_ignore_case(h.first, header.first); });
            response.add_header(header.first, header.second);
        }
    }
    close_stdout();
    terminate_process();  // the script's own body is not wanted
    phase_ = Phase::done;
    host_.respond(release_request(), request_, std::move(response));
}

// Before the header block is complete the client still gets a clean error page; after it,
// the only honest signal left is to cut the connection.
void CgiSession::fail(int code, const std::string& reason) {
    if (process_.pid() > 0) context_.logger.error(describe() + ": " + reason);
    close_stdout();
    terminate_process();
    if (req_ == nullptr || phase_ == Phase::done) return;
    if (phase_ == Phase::streaming) return abort_connection();
    phase_ = Phase::done;
    send_server_response(make_error_response(code));
}

// An answer the server wrote in the script's place (its error page). With combined-cgi its
// line carries the script's usage like the script's own answers do.
void CgiSession::send_server_response(Response response) {
    if (!host_.logs_script_usage() || !run_.spawned) {
        host_.respond(release_request(), request_, std::move(response));
        return;
    }
    const int code = response.status;
    write_log_line(code, host_.send_unlogged(release_request(), request_, std::move(response)));
}

// combined-cgi: the script's CPU time and peak RSS are known once it is reaped.
void CgiSession::write_log_line(int status, uint64_t bytes) {
    if (process_.running()) {
        deferred_line_ = {status, bytes};  // written by record_run
        return;
    }
    host_.log_script_access(request_, status, bytes, run_);
}

void CgiSession::abort_connection() {
    end_response(status_ == 0 ? status::bad_gateway : status_);
    evhttp_request* req = release_request();
    if (req == nullptr) return;
    if (evhttp_connection* connection = evhttp_request_get_connection(req)) {
        evhttp_connection_free(connection);
    }
}

// Writes the access-log line once, when the outcome of the response is known.
void CgiSession::end_response(int logged_status) {
    if (phase_ != Phase::done) {
        if (host_.logs_script_usage()) {
            write_log_line(logged_status, bytes_sent_);
        } else {
            host_.log_access(request_, logged_status, bytes_sent_);
        }
    }
    phase_ = Phase::done;
}

evhttp_request* CgiSession::release_request() {
    client_event_.reset();
    evhttp_request* req = std::exchange(req_, nullptr);
    if (req != nullptr) host_.detach_session(req);
    return req;
}

void CgiSession::on_connection_closed() {
    // The descriptor is closed now and may be reused by the next connection at once: the
    // EV_CLOSED watch must not outlive it.
    client_event_.reset();
    req_ = nullptr;
    nph_relay_.close();
    leave_queue();
    if (phase_ == Phase::done) return;
    note_failure(ScriptFailure::client_gone);
    context_.logger.info(describe() + ": the client went away; stopping the script");
    end_response(499);
    close_stdout();
    terminate_process();
    maybe_finished();
}

void CgiSession::on_client_closed(evutil_socket_t, short, void* self) {
    auto* session = static_cast<CgiSession*>(self);
    session->leave_queue();
    if (session->phase_ != Phase::done) session->note_failure(ScriptFailure::client_gone);
    session->context_.logger.info(session->describe() + ": the client went away");
    session->end_response(499);  // nginx's "client closed request", in the access log only
    session->close_stdout();
    session->terminate_process();
    session->abort_connection();
    session->maybe_finished();
}

void CgiSession::on_silence_timeout(evutil_socket_t, short, void* self) {
    auto* session = static_cast<CgiSession*>(self);
    session->note_failure(ScriptFailure::timed_out);
    std::string reason = "no output for " + format_seconds(session->site_->cgi.timeout);
    session->fail(status::gateway_timeout, reason);
    session->maybe_finished();
}

void CgiSession::on_total_timeout(evutil_socket_t, short, void* self) {
    auto* session = static_cast<CgiSession*>(self);
    session->note_failure(ScriptFailure::timed_out);
    session->fail(status::gateway_timeout,
                  "ran longer than " + format_seconds(session->site_->cgi.max_time));
    session->maybe_finished();
}

void CgiSession::terminate_process() {
    if (!process_.running() || kill_timer_) return;
    process_.signal_group(SIGTERM);
    kill_timer_.reset(evtimer_new(host_.event_loop(), &CgiSession::on_kill_grace, this));
    timeval grace = to_timeval(site_->cgi.kill_grace);
    event_add(kill_timer_.get(), &grace);
}

void CgiSession::on_kill_grace(evutil_socket_t, short, void* self) {
    static_cast<CgiSession*>(self)->process_.signal_group(SIGKILL);
}

void CgiSession::on_process_exit(evutil_socket_t, short, void* self) {
    auto* session = static_cast<CgiSession*>(self);
    if (!session->process_.try_reap()) {
        event_add(session->exit_event_.get(), nullptr);  // not yet waitable: look again
        return;
    }
    int status = session->process_.wait_status();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        // A crash is an error; our own SIGTERM/SIGKILL after a timeout is only a note.
        bool we_killed = session->kill_timer_ != nullptr &&
                         (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGKILL);
        LogLevel level = we_killed             ? LogLevel::info
                         : WIFSIGNALED(status) ? LogLevel::error
                                               : LogLevel::warn;
        session->context_.logger.log(level,
                                     session->describe() + ": " + describe_wait_status(status));
        // A crash that cut the header block short shows first as malformed output: the
        // crash is the reason.
        if (WIFSIGNALED(status) && !we_killed &&
            (session->run_.failure == ScriptFailure::none ||
             session->run_.failure == ScriptFailure::malformed_output)) {
            session->run_.failure = ScriptFailure::crashed;
        }
    }
    session->note_reaped();
    session->exit_event_.reset();
    session->kill_timer_.reset();
    session->release_slot();
    if (session->exit_wait_timer_) session->end_stream();
    if (session->phase_ == Phase::done) {
        // Anything still holding the pipes is a leftover descendant: stop listening to it.
        session->close_stdout();
        session->stderr_logger_.stop();
    }
    session->maybe_finished();
}

void CgiSession::close_stdout() {
    stdout_event_.reset();
    silence_timer_.reset();
    process_.stdout_pipe().reset();
    stdin_event_.reset();
    process_.stdin_pipe().reset();
    nph_relay_.end_input();
}

// The connection stays allocated (idle: evhttp reads and writes nothing now) while the relay
// writes the script's bytes, and is freed once they have all reached the kernel.
void CgiSession::take_over_connection() {
    evhttp_connection* connection = evhttp_request_get_connection(req_);
    int fd = bufferevent_getfd(evhttp_connection_get_bufferevent(connection));
    status_ = status::ok;  // logged as 200: the script's own status line is not parsed
    phase_ = Phase::streaming;
    auto on_progress = [this](NphRelay::Progress progress) {
        follow_nph_relay(progress);
        maybe_finished();
    };
    if (!nph_relay_.start(host_.event_loop(), fd, kMaxPendingOutput, on_progress)) {
        close_client();
    }
}

void CgiSession::relay_nph_output(const char* data, size_t size) {
    if (!nph_relay_.open()) return;
    bytes_sent_ += size;
    follow_nph_relay(nph_relay_.send(data, size));
}

void CgiSession::follow_nph_relay(NphRelay::Progress progress) {
    switch (progress) {
        case NphRelay::Progress::flowing:
            event_add(stdout_event_.get(), nullptr);
            return;
        case NphRelay::Progress::backed_up:  // same backpressure as the evhttp path
            event_del(stdout_event_.get());
            return;
        case NphRelay::Progress::draining:
            return;
        case NphRelay::Progress::closed:  // delivered, or the client is gone
            return close_client();
    }
}

void CgiSession::close_client() {
    end_response(status_);
    nph_relay_.close();
    if (evhttp_request* req = release_request()) {
        evhttp_connection_free(evhttp_request_get_connection(req));
    }
    if (stdout_event_) {  // the client left before the script finished
        close_stdout();
        terminate_process();
    }
}

void CgiSession::maybe_finished() {
    bool pipes_closed =
        !process_.stdout_pipe() && !stderr_logger_.listening() && !nph_relay_.open();
    bool process_done = process_.pid() <= 0 || !process_.running();
    if (phase_ == Phase::done && pipes_closed && process_done) {
        total_timer_.reset();
        record_run();
        host_.session_finished(this);
    }
}

void CgiSession::note_failure(ScriptFailure failure) {
    if (run_.failure == ScriptFailure::none) run_.failure = failure;
}

void CgiSession::note_reaped() {
    run_.total_seconds = monotonic_seconds() - spawned_at_;
    const rusage& usage = process_.usage();
    auto seconds = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    run_.cpu_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    constexpr uint64_t kBytesPerKiB = 1024;  // Linux counts ru_maxrss in KiB
    run_.peak_rss_bytes = static_cast<uint64_t>(std::max(0L, usage.ru_maxrss)) * kBytesPerKiB;
}

// Once per request, when the session is over: the status counters and a deferred log line.
void CgiSession::record_run() {
    if (recorded_) return;
    recorded_ = true;
    run_.bytes_sent = bytes_sent_;
    if (WorkerMetrics* metrics = host_.metrics()) metrics->count_script(target_.script_name, run_);
    if (deferred_line_) {
        host_.log_script_access(request_, deferred_line_->first, deferred_line_->second, run_);
        deferred_line_.reset();
    }
}

}  // namespace cgihost
