#include "http/connection_transport.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>

namespace cgihost {
namespace {

// One TLS record's worth of plaintext (RFC 8446 §5.1): each SSL_write is one record.
constexpr size_t kTlsRecordBytes = 16384;
// What one flush writes through TLS before it lets the loop serve other connections.
constexpr size_t kTlsBytesPerFlush = size_t{256} * 1024;

// --proxy-protocol over TLS: the PROXY header, read off the socket ahead of OpenSSL by a
// filter BIO pushed in front of the socket BIO on the read side (writes go straight to the
// socket BIO, as before). Until the header is whole the filter answers OpenSSL's reads with
// "retry", so the handshake waits for the socket like any short read; then it hands on the
// bytes it read past the header, and after them is a pass-through for the connection's life.
// Those bytes never wait for the socket: OpenSSL hears "retry" only from the socket, which
// the filter reads only once they are all taken.
// It reads no more than a header can take (kMaxProxyHeaderBytes): an invalid or overlong one
// is refused by the parser before that. A refused connection reads nothing more and OpenSSL,
// only ever told "retry", sends nothing (no alert) before the intake closes it.
// The BIO and the transport share the reader: whichever goes first, the other stays safe.
class ProxyHeaderReader {
  public:
    explicit ProxyHeaderReader(ConnectionTransport::ProxyHeaderDone done)
        : done_(std::move(done)) {}
    // The transport is going: nobody is to be told any more.
    void forget_listener() { done_ = nullptr; }

    // Puts a filter BIO reading through `reader` in front of `ssl`'s read BIO.
    static bool push(SSL* ssl, const std::shared_ptr<ProxyHeaderReader>& reader) {
        BIO* socket = SSL_get_rbio(ssl);
        BIO* filter = BIO_new(method());
        if (socket == nullptr || filter == nullptr) {
            BIO_free(filter);
            return false;
        }
        BIO_set_data(filter, new std::shared_ptr<ProxyHeaderReader>(reader));
        BIO_set_init(filter, 1);
        // SSL_set0_rbio frees the old read BIO's reference; the socket BIO stays the write
        // BIO too (libevent's BIO_new_socket, SSL_set_bio with rbio == wbio), and now the
        // filter's next as well, each holding a reference.
        BIO_up_ref(socket);
        SSL_set0_rbio(ssl, BIO_push(filter, socket));
        return true;
    }

  private:
    enum class Phase { header, passing, refused };

    static ProxyHeaderReader& of(BIO* bio) {
        return **static_cast<std::shared_ptr<ProxyHeaderReader>*>(BIO_get_data(bio));
    }

    static BIO_METHOD* method() {
        static BIO_METHOD* const kMethod = [] {
            BIO_METHOD* made =
                BIO_meth_new(BIO_get_new_index() | BIO_TYPE_FILTER, "PROXY protocol header");
            if (made == nullptr) return made;
            BIO_meth_set_read(made, &ProxyHeaderReader::on_read);  // no write: read side only
            BIO_meth_set_ctrl(made, &ProxyHeaderReader::on_ctrl);
            BIO_meth_set_destroy(made, [](BIO* bio) {
                delete static_cast<std::shared_ptr<ProxyHeaderReader>*>(BIO_get_data(bio));
                BIO_set_data(bio, nullptr);
                return 1;
            });
            return made;
        }();
        return kMethod;
    }

    static int on_read(BIO* bio, char* into, int size) {
        ProxyHeaderReader& reader = of(bio);
        BIO_clear_retry_flags(bio);
        if (reader.phase_ == Phase::header) {
            const int n = reader.read_header(BIO_next(bio));
            if (reader.phase_ == Phase::header) {
                BIO_copy_next_retry(bio);  // the socket's "retry", or its end
                return n;
            }
        }
        if (reader.phase_ == Phase::refused) {
            BIO_set_retry_read(bio);
            return -1;
        }
        if (!reader.after_header_.empty() && size > 0) {
            const size_t n = std::min(reader.after_header_.size(), static_cast<size_t>(size));
            reader.after_header_.copy(into, n);
            reader.after_header_.erase(0, n);
            return static_cast<int>(n);
        }
        const int n = BIO_read(BIO_next(bio), into, size);
        BIO_copy_next_retry(bio);
        return n;
    }

    // Reads what the socket has until the header is whole or cannot be: then 0, and the
    // phase moves on; before that, the socket's own result (retry, end, error).
    int read_header(BIO* socket) {
        char chunk[kMaxProxyHeaderBytes];
        while (received_.size() < kMaxProxyHeaderBytes) {
            const int n =
                BIO_read(socket, chunk, static_cast<int>(sizeof chunk - received_.size()));
            if (n <= 0) return n;
            received_.append(chunk, static_cast<size_t>(n));
            ProxyHeader header = parse_proxy_header(received_);
            if (header.status == ProxyHeader::Status::need_more) continue;
            if (header.status == ProxyHeader::Status::complete) {
                after_header_ = received_.substr(header.length);
                phase_ = Phase::passing;
            } else {
                phase_ = Phase::refused;
            }
            received_.clear();
            if (done_) done_(header);
            return 0;
        }
        // The parser refuses what cannot fit before this; should it not, so do we.
        ProxyHeader overlong;
        overlong.status = ProxyHeader::Status::invalid;
        overlong.problem = "an overlong PROXY header";
        phase_ = Phase::refused;
        if (done_) done_(overlong);
        return 0;
    }

    static long on_ctrl(BIO* bio, int command, long number, void* pointer) {
        BIO* next = BIO_next(bio);
        const ProxyHeaderReader& reader = of(bio);
        switch (command) {
            case BIO_CTRL_PENDING:
                return static_cast<long>(reader.after_header_.size()) +
                       (next != nullptr ? BIO_ctrl(next, command, number, pointer) : 0);
            case BIO_CTRL_EOF:
                if (!reader.after_header_.empty()) return 0;
                break;
            default:
                break;
        }
        return next != nullptr ? BIO_ctrl(next, command, number, pointer) : 0;
    }

    ConnectionTransport::ProxyHeaderDone done_;
    Phase phase_ = Phase::header;
    std::string received_;      // the header so far
    std::string after_header_;  // read past the header: the TLS bytes OpenSSL gets first
};

class PlainTransport final : public ConnectionTransport {
  public:
    explicit PlainTransport(bufferevent* socket) : ConnectionTransport(socket) {}

    bool read_available(evbuffer* into) override {
        const int descriptor = fd();
        if (descriptor < 0) return false;
        // bufferevent_readcb freezes the input's end around our callback; it unfreezes it
        // again before its own next read.
        evbuffer_unfreeze(into, 0);
        const int n = evbuffer_read(into, descriptor, -1);
        evbuffer_freeze(into, 0);
        return n > 0;  // 0 (EOF) and errors are left for the socket bufferevent to see
    }

    // writev for memory, sendfile(2) for file segments; bytes left in the socket
    // bufferevent's own output by send_raw go first.
    Write write(evbuffer* from) override {
        const int descriptor = fd();
        if (descriptor < 0) return Write::idle;
        evbuffer* raw = bufferevent_get_output(socket_);
        if (evbuffer_get_length(raw) > 0 && evbuffer_write(raw, descriptor) < 0 &&
            errno != EAGAIN && errno != EINTR) {
            return Write::failed;
        }
        if (evbuffer_get_length(raw) == 0) send_head_with_more(from, descriptor);
        const int written = evbuffer_get_length(raw) > 0 ? -1 : evbuffer_write(from, descriptor);
        if (written > 0) return Write::progress;
        // 0: sendfile would block (libevent reports EAGAIN from sendfile as 0 bytes written).
        if (written == 0 ||
            (written < 0 && (evbuffer_get_length(raw) > 0 || errno == EAGAIN || errno == EINTR))) {
            return Write::blocked;
        }
        return Write::failed;  // the client is gone (EPIPE, ECONNRESET)
    }

    // A short head before a large body goes out with MSG_MORE, so that it shares the body's
    // first segment instead of travelling alone (as lighttpd's TCP_CORK does). The first chunk
    // is memory, never a file segment: those are over 64 KiB when added (smaller ranges are
    // read in), and what is left of one is the last thing in an output that holds one answer.
    static void send_head_with_more(evbuffer* from, int descriptor) {
        const size_t first = evbuffer_get_contiguous_space(from);
        if (first == 0 || first > kHeadBytes || evbuffer_get_length(from) < kLargeBody) return;
        const unsigned char* head = evbuffer_pullup(from, static_cast<ev_ssize_t>(first));
        const ssize_t n = ::send(descriptor, head, first, MSG_NOSIGNAL | MSG_DONTWAIT | MSG_MORE);
        if (n > 0) evbuffer_drain(from, static_cast<size_t>(n));
    }
    static constexpr size_t kHeadBytes = 4096;
    static constexpr size_t kLargeBody = size_t{64} * 1024;

    void send_raw(std::string_view bytes, bool then_end) override {
        const int descriptor = fd();
        size_t sent = 0;
        if (descriptor >= 0 && evbuffer_get_length(bufferevent_get_output(socket_)) == 0) {
            const ssize_t n =
                ::send(descriptor, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            sent = n > 0 ? static_cast<size_t>(n) : 0;
        }
        if (sent < bytes.size()) {
            bufferevent_write(socket_, bytes.data() + sent, bytes.size() - sent);
        } else if (then_end) {
            // Our FIN tells the client the answer is complete while we go on reading its body.
            (void)::shutdown(descriptor, SHUT_WR);
        }
    }

    void send_timeout_notice(std::string_view reply) override {
        // Best effort: the client may not be reading, and the loop must not wait for it.
        const int descriptor = fd();
        if (descriptor >= 0)
            (void)::send(descriptor, reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }

    void say_goodbye() override {}
    bool is_tls() const override { return false; }
    std::optional<TlsSessionFacts> tls_facts() const override { return std::nullopt; }
};

class TlsTransport final : public ConnectionTransport {
  public:
    TlsTransport(bufferevent* socket, SSL* ssl, std::shared_ptr<const TlsContext> context)
        : ConnectionTransport(socket), ssl_(ssl), context_(std::move(context)) {}
    ~TlsTransport() override {
        if (proxy_header_) proxy_header_->forget_listener();
    }

    // Nothing may be read before the filter is in place, and the filter needs the socket BIO,
    // which libevent makes only when the descriptor is set (BEV_CTRL_SET_FD: BIO_new_socket,
    // SSL_set_bio). So reading and writing are disabled until start(): setting the descriptor
    // enables only what is enabled (set_handshake_callbacks), and the filter bufferevent above
    // only suspends and resumes reading, which needs it enabled too.
    void take_proxy_header(ProxyHeaderDone done) override {
        proxy_header_ = std::make_shared<ProxyHeaderReader>(std::move(done));
        held_events_ = bufferevent_get_enabled(socket_);
        bufferevent_disable(socket_, EV_READ | EV_WRITE);
    }

    // The handshake begins from the loop once the socket is readable or writable: enabling
    // only adds the events (be_openssl_enable without an underlying bufferevent).
    bool start() override {
        if (!proxy_header_) return true;
        if (!ProxyHeaderReader::push(ssl_, proxy_header_)) return false;
        bufferevent_enable(socket_, held_events_);
        return true;
    }

    // bufferevent_openssl reads until the socket is empty or its high-water mark, and may stop
    // there inside a record; those decrypted bytes would wait for the next socket event.
    bool read_available(evbuffer* into) override {
        const int pending = SSL_pending(ssl_);
        if (pending <= 0) return false;
        evbuffer_iovec space{};
        if (evbuffer_reserve_space(into, pending, &space, 1) != 1) return false;
        ERR_clear_error();
        const int n = SSL_read(ssl_, space.iov_base, static_cast<int>(space.iov_len));
        if (n <= 0) {
            ERR_clear_error();
            return false;  // errors surface on the bufferevent's next read
        }
        space.iov_len = static_cast<size_t>(n);
        return evbuffer_commit_space(into, &space, 1) == 0;
    }

    // Whole records straight to the socket: once SSL_write succeeds the kernel has them.
    // Refusals still in bufferevent_openssl's output (send_raw) go first, written by it.
    Write write(evbuffer* from) override {
        if (!SSL_is_init_finished(ssl_)) return Write::idle;  // evhttp writes after a request
        // A refusal left to bufferevent_openssl is written by it first (it soon is: its own
        // write event is pending), and our records must not overtake it.
        if (evbuffer_get_length(bufferevent_get_output(socket_)) > 0) return Write::blocked;
        size_t written = 0;
        while (evbuffer_get_length(from) > 0 && written < kTlsBytesPerFlush) {
            const int n = write_record(from);
            if (n > 0) {
                written += static_cast<size_t>(n);
                continue;
            }
            if (n == 0) return written > 0 ? Write::progress : Write::blocked;
            return Write::failed;
        }
        return written > 0 ? Write::progress : Write::idle;
    }

    void send_raw(std::string_view bytes, bool then_end) override {
        bool sent = false;
        if (SSL_is_init_finished(ssl_) && retry_length_ == 0 &&
            evbuffer_get_length(bufferevent_get_output(socket_)) == 0) {
            ERR_clear_error();
            sent = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) > 0;
            ERR_clear_error();
        }
        if (!sent) {
            // bufferevent_openssl writes them; after a "socket full" above, its SSL_write of
            // the same bytes is the retry OpenSSL expects.
            bufferevent_write(socket_, bytes.data(), bytes.size());
        } else if (then_end) {
            say_goodbye();  // close_notify: the answer is complete; we go on reading
        }
    }

    // No plaintext 408 inside a TLS stream: the connection just closes.
    void send_timeout_notice(std::string_view) override {}

    // RFC 8446 §6.1: close_notify, so the client can tell our end from a cut connection.
    void say_goodbye() override {
        if (!SSL_is_init_finished(ssl_) || (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) != 0)
            return;
        ERR_clear_error();
        (void)SSL_shutdown(ssl_);
        ERR_clear_error();
    }

    bool is_tls() const override { return true; }

    std::optional<TlsSessionFacts> tls_facts() const override {
        if (!SSL_is_init_finished(ssl_)) return std::nullopt;
        return describe_tls_session(ssl_);
    }

  private:
    // One record from the start of `from`: > 0 bytes written, 0 when the socket is full,
    // < 0 on failure. A retry after "full" repeats the same length, as OpenSSL requires.
    // A short first chunk (a head before its body, a script's small writes) is joined with
    // what follows, so that one record and one segment carry both.
    int write_record(evbuffer* from) {
        const size_t length = retry_length_ > 0
                                  ? retry_length_
                                  : std::min(evbuffer_get_length(from), kTlsRecordBytes);
        if (length == 0 || evbuffer_get_length(from) < length) return -1;
        const unsigned char* record = evbuffer_pullup(from, static_cast<ev_ssize_t>(length));
        if (record == nullptr) return -1;
        ERR_clear_error();
        const int n = SSL_write(ssl_, record, static_cast<int>(length));
        if (n > 0) {
            retry_length_ = 0;
            evbuffer_drain(from, static_cast<size_t>(n));
            return n;
        }
        const int error = SSL_get_error(ssl_, n);
        ERR_clear_error();
        // WANT_READ would need a renegotiation, which the context forbids, or a TLS 1.3
        // message we have not read yet; both are retried when the socket is writable.
        if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) {
            retry_length_ = length;
            return 0;
        }
        return -1;
    }

    SSL* ssl_;  // owned by the bufferevent
    std::shared_ptr<const TlsContext> context_;
    size_t retry_length_ = 0;  // the length of an SSL_write to repeat; 0 = none pending
    std::shared_ptr<ProxyHeaderReader> proxy_header_;  // with --proxy-protocol
    short held_events_ = 0;                            // what start() enables again
};

}  // namespace

std::unique_ptr<ConnectionTransport> make_plain_transport(event_base* base) {
    bufferevent* socket = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (socket == nullptr) return nullptr;
    return std::make_unique<PlainTransport>(socket);
}

std::unique_ptr<ConnectionTransport> make_tls_transport(event_base* base,
                                                        std::shared_ptr<const TlsContext> context) {
    SSL* ssl = context->new_connection();
    if (ssl == nullptr) return nullptr;
    // Frees `ssl` too when it fails. The descriptor comes later, through the filter
    // (BEV_CTRL_SET_FD), and starts the handshake as the server.
    bufferevent* socket = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                         BEV_OPT_CLOSE_ON_FREE);
    if (socket == nullptr) return nullptr;
    return std::make_unique<TlsTransport>(socket, ssl, std::move(context));
}

}  // namespace cgihost
