#include "http/connection_transport.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace cgihost {
namespace {

// One TLS record's worth of plaintext (RFC 8446 §5.1): each SSL_write is one record.
constexpr size_t kTlsRecordBytes = 16384;
// What one flush writes through TLS before it lets the loop serve other connections.
constexpr size_t kTlsBytesPerFlush = size_t{256} * 1024;

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
        const int written = evbuffer_get_length(raw) > 0 ? -1 : evbuffer_write(from, descriptor);
        if (written > 0) return Write::progress;
        // 0: sendfile would block (libevent reports EAGAIN from sendfile as 0 bytes written).
        if (written == 0 ||
            (written < 0 && (evbuffer_get_length(raw) > 0 || errno == EAGAIN || errno == EINTR))) {
            return Write::blocked;
        }
        return Write::failed;  // the client is gone (EPIPE, ECONNRESET)
    }

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
    int write_record(evbuffer* from) {
        evbuffer_iovec chunk{};
        if (evbuffer_peek(from, -1, nullptr, &chunk, 1) < 1 || chunk.iov_len == 0) return -1;
        const size_t length =
            retry_length_ > 0 ? retry_length_ : std::min(chunk.iov_len, kTlsRecordBytes);
        if (length > chunk.iov_len) return -1;
        ERR_clear_error();
        const int n = SSL_write(ssl_, chunk.iov_base, static_cast<int>(length));
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
