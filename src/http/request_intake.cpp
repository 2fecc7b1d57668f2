#include "http/request_intake.hpp"

#include <event2/buffer.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "http/forwarded.hpp"
#include "http/http_status.hpp"

namespace cgihost {
namespace {

// Unread bytes held per connection while a request is being answered (the next pipelined
// requests): beyond this the socket is not read, and the client's own buffers fill instead.
constexpr size_t kInputHighWater = size_t{64} * 1024;
// A refused client may go on sending (its body, typically) this long and this much while we
// read and discard, so that it gets to read our answer; then the connection is closed.
constexpr double kLingerSeconds = 30;
constexpr uint64_t kMaxLingerBytes = uint64_t{1} << 30;
constexpr int kMaxReadsPerWake = 64;  // 256 KiB of body per wake-up at most
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// RFC 9110 §15.5.9: a server may send 408 before closing a connection it gave up waiting on.
constexpr std::string_view kRequestTimeoutReply =
    "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

// A refusal as bytes for the socket: evhttp never saw the request, so we write it ourselves.
std::string format_refusal(const Response& response, int version_minor) {
    std::string text = "HTTP/1." + std::to_string(version_minor == 0 ? 0 : 1) + " " +
                       std::to_string(response.status) + " " +
                       std::string(reason_phrase(response.status)) + "\r\n";
    for (const auto& [name, value] : response.headers)
        text += name + ": " + value + "\r\n";
    text += "Content-Length: " + std::to_string(response.body.size()) +
            "\r\nConnection: close\r\n\r\n" + response.body;
    return text;
}

bool is_storage_full(int error_number) {
    return error_number == ENOSPC || error_number == EDQUOT;
}

}  // namespace

void ProxyRefusals::note(Logger& logger, const std::string& what) {
    std::lock_guard lock(mutex_);
    ++unreported_;
    const double now = monotonic_seconds();
    if (now < next_report_) return;
    logger.warn("--proxy-protocol: closed " + std::to_string(unreported_) +
                " connection(s) without a valid PROXY header since the last report; the "
                "latest " +
                what);
    unreported_ = 0;
    next_report_ = now + kReportInterval;
}

RequestIntake::RequestIntake(event_base* base, std::unique_ptr<ConnectionTransport> transport,
                             Services services)
    : base_(base),
      services_(std::move(services)),
      transport_(std::move(transport)),
      awaiting_proxy_header_(services_.settings->proxy_protocol),
      framer_(services_.settings->framing),
      deadline_(services_.settings->timeouts) {
    resume_event_.reset(event_new(base, -1, 0, &RequestIntake::on_resume, this));
    deadline_timer_.reset(evtimer_new(base, &RequestIntake::on_deadline, this));
    close_event_.reset(evtimer_new(base, &RequestIntake::on_close_now, this));
    idle_timer_.reset(evtimer_new(base, &RequestIntake::on_idle_timeout, this));
}

RequestIntake::~RequestIntake() = default;

bufferevent* RequestIntake::create(event_base* base, std::unique_ptr<ConnectionTransport> transport,
                                   Services services, RequestIntake** intake) {
    if (transport == nullptr) return nullptr;
    bufferevent* socket = transport->socket();
    std::unique_ptr<RequestIntake> owner(
        new RequestIntake(base, std::move(transport), std::move(services)));
    bufferevent* filter = bufferevent_filter_new(
        socket, &RequestIntake::filter_input, &RequestIntake::filter_output, BEV_OPT_CLOSE_ON_FREE,
        [](void* self) { delete static_cast<RequestIntake*>(self); }, owner.get());
    if (filter == nullptr) {
        bufferevent_free(socket);
        return nullptr;
    }
    bufferevent_setwatermark(socket, EV_READ, 0, kInputHighWater);
    owner->filter_ = filter;
    // Over TLS the PROXY header comes before the handshake, where only the transport sees it.
    if (owner->awaiting_proxy_header_) {
        RequestIntake* self = owner.get();
        self->transport_->take_proxy_header(
            [self](const ProxyHeader& header) { self->settle_proxy_header(header); });
    }
    evbuffer_add_cb(bufferevent_get_output(filter), &RequestIntake::on_output_added, owner.get());
    *intake = owner.release();  // the filter's free_context deletes it
    return filter;
}

void RequestIntake::attach(evhttp_connection* connection) {
    connection_ = connection;
    if (!transport_->start()) {
        services_.logger.error("cannot start reading a connection: out of memory");
        event_active(close_event_.get(), EV_TIMEOUT, 0);
    }
    flush_event_.reset(event_new(base_, socket_fd(), EV_WRITE, &RequestIntake::on_flush, this));
    // Like Apache's mod_reqtimeout, a new connection's head is due from its opening, so a
    // client that connects and sends nothing holds a descriptor no longer than that.
    deadline_.note_request_byte(monotonic_seconds());  // unless bytes already started it
    arm_deadline();
}

void RequestIntake::detach() {
    transport_->say_goodbye();
    connection_ = nullptr;
    for (EventPtr* event :
         {&flush_event_, &resume_event_, &deadline_timer_, &close_event_, &idle_timer_}) {
        if (*event) event_del(event->get());
    }
}

int RequestIntake::socket_fd() const {
    return transport_->fd();
}

ReceivedBody RequestIntake::take_body() {
    return std::exchange(body_, {});
}

void RequestIntake::resume() {
    await_next_request();
    // From the loop, once evhttp has finished with the request and reads again.
    event_active(resume_event_.get(), EV_READ, 0);
}

// A response is complete: the framer takes the next head, under the keep-alive clock.
void RequestIntake::await_next_request() {
    framer_.next_request();
    body_ = {};
    mode_ = Mode::receiving;
    deadline_.await_next();
    unsent_at_last_look_ = 0;
    timeval idle = to_timeval(services_.settings->keep_alive_timeout);
    event_add(idle_timer_.get(), &idle);
}

void RequestIntake::on_resume(evutil_socket_t, short, void* self) {
    auto& intake = *static_cast<RequestIntake*>(self);
    if (intake.connection_ == nullptr) return;
    bufferevent_flush(intake.filter_, EV_READ, BEV_NORMAL);
    if (evbuffer_get_length(bufferevent_get_input(intake.filter_)) > 0) {
        bufferevent_trigger(intake.filter_, EV_READ, 0);
    }
}

bufferevent_filter_result RequestIntake::filter_input(evbuffer* src, evbuffer* dst, ev_ssize_t,
                                                      bufferevent_flush_mode, void* self) {
    auto& intake = *static_cast<RequestIntake*>(self);
    // Over TLS the transport settles the header before the handshake, so before any input.
    if (intake.awaiting_proxy_header_ && intake.mode_ == Mode::receiving) {
        if (auto result = intake.read_proxy_header(src)) return *result;
    }
    switch (intake.mode_) {
        case Mode::holding:
            return BEV_NEED_MORE;  // a request is being answered; the next one waits
        case Mode::lingering:
            return intake.discard(src);
        case Mode::receiving:
            break;
    }
    return intake.receive(src, dst);
}

// The PROXY header comes before the first request (spec §2): taken off the input before the
// framer sees a byte. nullopt once it is read and receiving may go on.
std::optional<bufferevent_filter_result> RequestIntake::read_proxy_header(evbuffer* src) {
    const size_t available = std::min(evbuffer_get_length(src), kMaxProxyHeaderBytes);
    const unsigned char* bytes = evbuffer_pullup(src, static_cast<ev_ssize_t>(available));
    const ProxyHeader header =
        parse_proxy_header({reinterpret_cast<const char*>(bytes), bytes ? available : 0});
    if (header.status == ProxyHeader::Status::need_more) return BEV_NEED_MORE;
    settle_proxy_header(header);
    if (header.status == ProxyHeader::Status::invalid) {
        evbuffer_drain(src, evbuffer_get_length(src));
        return BEV_NEED_MORE;
    }
    evbuffer_drain(src, header.length);
    return std::nullopt;
}

// The header is whole, from the input or (over TLS) from the transport: it names the client,
// or it is invalid and the connection is closed.
void RequestIntake::settle_proxy_header(const ProxyHeader& header) {
    if (header.status == ProxyHeader::Status::invalid) {
        refuse_proxy_client("sent " + header.problem);
        return;
    }
    proxied_peer_ = header.source;
    awaiting_proxy_header_ = false;
}

// Closed without a word: whatever it is, it is not our balancer speaking.
void RequestIntake::refuse_proxy_client(const std::string& why) {
    const Request request = describe_request();
    if (services_.proxy_refusals != nullptr) {
        services_.proxy_refusals->note(
            services_.logger,
            "from " + request.remote_addr + ":" + std::to_string(request.remote_port) + " " + why);
    }
    mode_ = Mode::lingering;  // reads nothing more; closed from the loop
    deadline_.finish();
    event_del(deadline_timer_.get());
    event_active(close_event_.get(), EV_TIMEOUT, 0);
}

bufferevent_filter_result RequestIntake::receive(evbuffer* src, evbuffer* dst) {
    bool progress = false;
    reads_this_wake_ = 0;
    while (mode_ == Mode::receiving) {
        evbuffer_iovec chunk{};
        std::string_view bytes;
        if (evbuffer_peek(src, -1, nullptr, &chunk, 1) >= 1)
            bytes = {static_cast<const char*>(chunk.iov_base), chunk.iov_len};
        if (!bytes.empty() && !framer_.receiving()) {
            const RequestDeadline::Phase before = deadline_.phase();
            deadline_.note_request_byte(monotonic_seconds());
            if (deadline_.phase() != before) arm_deadline();
        }
        const RequestFramer::Step step = framer_.advance(bytes);
        if (step.event == RequestFramer::Event::need_more && step.consumed == 0) {
            if (!read_more_body(src)) break;
            continue;
        }
        progress = true;
        if (!take_step(src, dst, step)) break;
    }
    // OK tells the filter that input moved, which keeps evhttp's read timeout from firing
    // while a long body arrives; evhttp is called back and finds no new head, or one.
    return progress ? BEV_OK : BEV_NEED_MORE;
}

// libevent reads at most 4 KiB per wake-up (EVBUFFER_MAX_READ), so on a busy loop a large
// body would arrive 4 KiB per loop turn and the client's TCP window would close in between.
// While a body streams in, read on until nothing more is there or kMaxReadsPerWake reads.
bool RequestIntake::read_more_body(evbuffer* src) {
    if (!framer_.in_body() || reads_this_wake_ >= kMaxReadsPerWake ||
        evbuffer_get_length(src) > 0) {
        return false;
    }
    ++reads_this_wake_;
    return transport_->read_available(src);
}

// Acts on one step of the framer; false when receiving stops (delivered or refused).
bool RequestIntake::take_step(evbuffer* src, evbuffer* dst, RequestFramer::Step step) {
    using Event = RequestFramer::Event;
    if (services_.bytes_received != nullptr) services_.bytes_received->add(step.consumed);
    if (step.event == Event::body_data) return store_body(src, step.consumed);
    evbuffer_drain(src, step.consumed);
    switch (step.event) {
        case Event::head:
            return begin_body(src);
        case Event::complete:
            if (answer_quickly()) return true;  // and on to a pipelined next request
            deliver(dst);
            return false;
        case Event::error:
            refuse(framer_.error_status(), framer_.error_reason());
            return false;
        default:
            return true;
    }
}

bool RequestIntake::begin_body(const evbuffer* src) {
    const RequestHead& head = framer_.head();
    const IntakeSettings& settings = *services_.settings;
    body_ = {};
    body_.present = head.declares_body;
    if (head.framing == BodyFraming::none) return true;
    if (is_refused_before_body()) return false;
    // The in-memory share is reserved before a byte is read; beyond the threshold the body
    // goes to a file and the share is given back.
    const uint64_t share = head.framing == BodyFraming::length
                               ? std::min(head.content_length, settings.spool_threshold)
                               : settings.spool_threshold;
    body_.reservation = services_.budget.reserve(share);
    if (!body_.reservation.held()) {
        services_.logger.warn("request bodies in memory reached --max-body-memory (" +
                              std::to_string(services_.budget.limit()) + " bytes); 503");
        refuse(status::service_unavailable,
               "The server is receiving too many request bodies; try again shortly.");
        return false;
    }
    body_.memory.reset(evbuffer_new());
    if (head.framing == BodyFraming::length && head.content_length > settings.spool_threshold &&
        !start_spool()) {
        return false;
    }
    // RFC 9110 §10.1.1: the client waits for this before sending the body (evhttp would
    // have sent it, but it no longer sees the Expect header).
    if (head.expect_continue && evbuffer_get_length(src) == 0) send_raw(kContinue, false);
    deadline_.start_body(monotonic_seconds());
    arm_deadline();
    return true;
}

// The server's check of the head, before a byte of the body is stored or 100 Continue sent
// (RFC 9110 §10.1.1: a server may answer with a final status instead of 100).
bool RequestIntake::is_refused_before_body() {
    if (!services_.check_before_body) return false;
    std::optional<Response> refusal = services_.check_before_body(describe_head());
    if (!refusal) return false;
    refuse(std::move(*refusal), "the access rules refuse it before its body");
    return true;
}

bool RequestIntake::store_body(evbuffer* src, size_t length) {
    const uint64_t held = body_.file ? 0 : evbuffer_get_length(body_.memory.get());
    if (!body_.file && held + length > services_.settings->spool_threshold && !start_spool()) {
        return false;
    }
    if (body_.file) {
        if (!write_to_spool(src, length)) return false;
    } else {
        evbuffer_remove_buffer(src, body_.memory.get(), length);
    }
    body_.length += length;
    deadline_.receive_body(length, monotonic_seconds());
    return true;
}

// Moves the body to an unlinked temporary file (O_TMPFILE: nothing is left behind, whatever
// happens to the server), and gives its memory share back.
bool RequestIntake::start_spool() {
    const std::string& dir = services_.settings->spool_dir;
    UniqueFd file(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!file) {
        const int error_number = errno;
        services_.logger.error("cannot make a temporary file for a request body in " + dir + ": " +
                               std::strerror(error_number));
        refuse(is_storage_full(error_number) ? status::insufficient_storage
                                             : status::internal_server_error,
               "The request body cannot be stored.");
        return false;
    }
    body_.file = std::move(file);
    if (!write_to_spool(body_.memory.get(), evbuffer_get_length(body_.memory.get()))) return false;
    body_.reservation.reset();
    return true;
}

bool RequestIntake::write_to_spool(evbuffer* from, size_t length) {
    while (length > 0) {
        const int written =
            evbuffer_write_atmost(from, body_.file.get(), static_cast<ev_ssize_t>(length));
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) {
            const int error_number = written < 0 ? errno : ENOSPC;
            services_.logger.error("cannot write a request body to its temporary file in " +
                                   services_.settings->spool_dir + ": " +
                                   std::strerror(error_number));
            refuse(is_storage_full(error_number) ? status::insufficient_storage
                                                 : status::internal_server_error,
                   "The request body cannot be stored.");
            return false;
        }
        length -= static_cast<size_t>(written);
    }
    return true;
}

// The request is whole: evhttp gets its head (the body waits in body_ for take_body), and
// nothing more is read until the response is complete.
// The quick path (Services::quick_answer): only with nothing of earlier responses still queued,
// so answers leave in order, and a client that does not read its answers meets evhttp's path,
// which holds further requests until the last answer has left.
bool RequestIntake::answer_quickly() {
    if (!services_.quick_answer || connection_ == nullptr || body_.present) return false;
    if (sending() || evbuffer_get_length(bufferevent_get_output(filter_)) > 0) return false;
    std::optional<std::string> answer = services_.quick_answer(connection_, describe_head());
    if (!answer) return false;
    send_raw(*answer, false);
    deadline_.finish();
    event_del(deadline_timer_.get());
    await_next_request();
    return true;
}

void RequestIntake::deliver(evbuffer* dst) {
    const std::string& text = framer_.head().text;
    evbuffer_add(dst, text.data(), text.size());
    mode_ = Mode::holding;
    deadline_.finish();
    event_del(deadline_timer_.get());
}

void RequestIntake::refuse(int code, const std::string& reason) {
    refuse(code == status::service_unavailable ? make_retry_later_response(reason)
                                               : make_error_response(code, reason),
           reason);
}

void RequestIntake::refuse(Response response, const std::string& reason) {
    Request request = describe_request();
    request.headers = framer_.head().fields;  // for identify_client: as far as they came
    identify_client(request);
    send_raw(format_refusal(response, framer_.head().version_minor), true);
    services_.logger.info("refused a request from " + request.remote_addr + ":" +
                          std::to_string(request.remote_port) + ": " + reason + " (" +
                          std::to_string(response.status) + ")");
    services_.log_access(request, response.status, response.body.size());
    mode_ = Mode::lingering;
    body_ = {};  // its memory share and its file go now
    deadline_.finish();
    event_del(deadline_timer_.get());
    timeval linger = to_timeval(kLingerSeconds);
    event_add(close_event_.get(), &linger);
}

// Writes bytes evhttp knows nothing of (100 Continue, a refusal) to the client at once; what
// does not fit now is left to the socket's bufferevent. evhttp has no output pending then: it
// is between requests, and everything it wrote went to the socket already.
void RequestIntake::send_raw(std::string_view bytes, bool then_shut_down) {
    transport_->send_raw(bytes, then_shut_down);
}

// A lingering close (as Apache and lighttpd do): what the refused client still sends is read
// and dropped, so the kernel does not answer it with a reset that destroys our response.
bufferevent_filter_result RequestIntake::discard(evbuffer* src) {
    const size_t length = evbuffer_get_length(src);
    evbuffer_drain(src, length);
    lingered_bytes_ += length;
    if (lingered_bytes_ > kMaxLingerBytes) event_active(close_event_.get(), EV_TIMEOUT, 0);
    return length > 0 ? BEV_OK : BEV_NEED_MORE;
}

// The keep-alive timeout. A connection is idle only when no byte of a next request has come:
// once one has, the head deadline governs. Bytes already waiting (in the socket, or read but
// not yet looked at) mean the loop was too busy to see them in time: they are the client's
// next request, sent within the timeout, so they are served; closing now would also reset the
// connection over them. evhttp's own timeout stays behind this one as a backstop.
void RequestIntake::on_idle_timeout(evutil_socket_t, short, void* self) {
    auto& intake = *static_cast<RequestIntake*>(self);
    if (intake.connection_ == nullptr || intake.mode_ != Mode::receiving ||
        intake.deadline_.phase() != RequestDeadline::Phase::idle) {
        return;
    }
    // An answer still leaving (a quick answer larger than the socket could take at once) is
    // not idleness: it must make progress every write timeout, and once it is out the client
    // gets a whole keep-alive period for its next request.
    const size_t unsent = intake.unsent_bytes();
    if (unsent > 0 || intake.unsent_at_last_look_ > 0) {
        if (unsent > 0 && unsent >= intake.unsent_at_last_look_ &&
            intake.unsent_at_last_look_ > 0) {
            intake.services_.logger.info(
                "closed a connection whose client took none of its "
                "answer for the write timeout");
            evhttp_connection_free(intake.connection_);
            return;
        }
        intake.unsent_at_last_look_ = unsent;
        const IntakeSettings& settings = *intake.services_.settings;
        timeval next =
            to_timeval(unsent > 0 ? settings.write_timeout : settings.keep_alive_timeout);
        event_add(intake.idle_timer_.get(), &next);
        return;
    }
    if (intake.has_unread_input()) {
        timeval idle = to_timeval(intake.services_.settings->keep_alive_timeout);
        event_add(intake.idle_timer_.get(), &idle);
        bufferevent_flush(intake.filter_, EV_READ, BEV_NORMAL);
        return;
    }
    evhttp_connection_free(intake.connection_);
}

size_t RequestIntake::unsent_bytes() const {
    return evbuffer_get_length(bufferevent_get_output(transport_->socket()));
}

bool RequestIntake::has_unread_input() const {
    if (evbuffer_get_length(bufferevent_get_input(transport_->socket())) > 0) return true;
    int pending = 0;
    return ::ioctl(socket_fd(), FIONREAD, &pending) == 0 && pending > 0;
}

void RequestIntake::on_close_now(evutil_socket_t, short, void* self) {
    auto& intake = *static_cast<RequestIntake*>(self);
    if (intake.connection_ != nullptr) evhttp_connection_free(intake.connection_);
}

void RequestIntake::on_output_added(evbuffer*, const evbuffer_cb_info* info, void* self) {
    auto& intake = *static_cast<RequestIntake*>(self);
    if (info->n_added > 0 && intake.flush_event_)
        event_active(intake.flush_event_.get(), EV_WRITE, 0);
}

// evhttp's output leaves for the socket only from here, a callback of the loop's own: evhttp
// writes its headers before it enables writing and sets its completion callback, so output
// written from inside those calls would complete a response evhttp has not finished making.
void RequestIntake::on_flush(evutil_socket_t, short, void* self) {
    auto& intake = *static_cast<RequestIntake*>(self);
    if (intake.connection_ == nullptr) return;
    intake.flushing_ = true;
    bufferevent_flush(intake.filter_, EV_WRITE, BEV_NORMAL);
    intake.flushing_ = false;  // the filter (and so the intake) outlives this call
}

bufferevent_filter_result RequestIntake::filter_output(evbuffer* src, evbuffer*, ev_ssize_t,
                                                       bufferevent_flush_mode, void* self) {
    return static_cast<RequestIntake*>(self)->write_out(src);
}

// Writes evhttp's output to the socket directly (sendfile for file segments in the clear,
// whole TLS records otherwise), so that evhttp hears "all written" only once the bytes are in
// the kernel, and a connection it then closes loses nothing.
bufferevent_filter_result RequestIntake::write_out(evbuffer* src) {
    if (!flushing_ || evbuffer_get_length(src) == 0) return BEV_NEED_MORE;
    switch (transport_->write(src)) {
        case ConnectionTransport::Write::idle:
            return BEV_NEED_MORE;
        case ConnectionTransport::Write::progress:
            if (evbuffer_get_length(src) > 0) event_add(flush_event_.get(), nullptr);
            return BEV_OK;
        case ConnectionTransport::Write::blocked:
            event_add(flush_event_.get(), nullptr);  // again when the socket can take more
            return BEV_NEED_MORE;
        case ConnectionTransport::Write::failed:
            break;
    }
    // The client is gone (EPIPE, ECONNRESET): evhttp fails the connection as it would have.
    bufferevent_trigger_event(filter_, BEV_EVENT_ERROR | BEV_EVENT_WRITING,
                              BEV_TRIG_DEFER_CALLBACKS);
    return BEV_ERROR;
}

void RequestIntake::arm_deadline() {
    std::optional<double> due = deadline_.deadline();
    if (!due) {
        event_del(deadline_timer_.get());
        return;
    }
    timeval wait = to_timeval(std::max(0.0, *due - monotonic_seconds()));
    event_add(deadline_timer_.get(), &wait);
}

void RequestIntake::on_deadline(evutil_socket_t, short, void* self) {
    auto& intake = *static_cast<RequestIntake*>(self);
    std::optional<double> due = intake.deadline_.deadline();
    if (!due || intake.connection_ == nullptr) return;
    // Within a phase the deadline only moves later; the timer re-checks when it fires.
    if (monotonic_seconds() < *due) return intake.arm_deadline();
    intake.drop_late_client();
}

void RequestIntake::drop_late_client() {
    if (awaiting_proxy_header_) {
        refuse_proxy_client("sent no PROXY header within --header-timeout");
        return;
    }
    const bool head = deadline_.phase() == RequestDeadline::Phase::head;
    const bool handshake = transport_->is_tls() && !transport_->tls_facts();
    Request request = describe_request();
    request.headers = framer_.head().fields;  // for identify_client: as far as they came
    identify_client(request);
    services_.logger.info("closing the connection from " + request.remote_addr + ":" +
                          std::to_string(request.remote_port) +
                          (handshake ? ": TLS handshake not completed in time (408)"
                           : head    ? ": request head not received in time (408)"
                                     : ": request body not received in time (408)"));
    services_.log_access(request, status::request_timeout, 0);
    transport_->send_timeout_notice(kRequestTimeoutReply);
    evhttp_connection_free(connection_);  // its close callback detaches us
}

// What the access log says of a request evhttp never saw.
Request RequestIntake::describe_request() const {
    Request request;
    const RequestHead& head = framer_.head();
    request.method = head.method.empty() ? "-" : head.method;
    request.target = head.target.empty() ? "-" : head.target;
    request.version_minor = head.version_minor;
    if (connection_ != nullptr) {
        char* address = nullptr;
        evhttp_connection_get_peer(connection_, &address, &request.remote_port);
        request.remote_addr = address != nullptr ? address : "-";
    }
    if (proxied_peer_) {
        request.remote_addr = proxied_peer_->address;
        request.remote_port = proxied_peer_->port;
    }
    return request;
}

void RequestIntake::identify_client(Request& request) const {
    if (proxied_peer_) {
        request.remote_addr = proxied_peer_->address;
        request.remote_port = proxied_peer_->port;
    }
    request.tls_connection = transport_->is_tls();
    request.https = request.tls_connection;
    const std::vector<AddressRange>& trusted = services_.settings->trusted_proxies;
    if (trusted.empty()) return;
    const ForwardedClient client =
        find_forwarded_client(request.headers, request.remote_addr, trusted);
    if (!client.problem.empty()) {
        services_.logger.debug("ignoring what proxy " + request.remote_addr +
                               " says of its client: " + client.problem);
    }
    if (client.address) {
        request.remote_addr = *client.address;
        request.remote_port = client.port;
    }
    if (client.https) request.https = *client.https;
}

// The request as the check before its body sees it: what describe_request says, with the
// header fields, whether it came over TLS, and the path and query. Only an origin-form
// target (RFC 9112 §3.2.1) gets a path; any other keeps it empty, and is decided once evhttp
// has parsed it.
Request RequestIntake::describe_head() const {
    Request request = describe_request();
    const RequestHead& head = framer_.head();
    request.headers = head.fields;
    identify_client(request);
    if (head.target.starts_with('/')) {
        const size_t end = head.target.find_first_of("?#");
        request.path = head.target.substr(0, end);
        if (end != std::string::npos && head.target[end] == '?') {
            request.has_query = true;
            request.query = head.target.substr(end + 1, head.target.find('#', end) - end - 1);
        }
    }
    return request;
}

}  // namespace cgihost
