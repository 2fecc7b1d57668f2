// How the intake's bytes reach a client's socket: in the clear, or through TLS. The intake
// (request_intake) sits on a bufferevent of either kind and, for backpressure and honest
// completion, moves some bytes itself rather than through that bufferevent's buffers: a
// request body's next bytes (read_available), evhttp's output (write), and bytes evhttp never
// saw (100 Continue, refusals: send_raw). Each kind does these its own way:
// - plain: read(2), writev/sendfile(2) and send(2) on the descriptor;
// - TLS: SSL_read of what OpenSSL already decrypted, and SSL_write of whole records straight
//   to the socket, so bytes count as written only once the kernel has them, as in the clear.
//   Nothing is ever written in the clear into a TLS connection (a late client is just closed).
// With --proxy-protocol the PROXY header comes in the clear before the first byte of TLS, so
// over TLS the transport itself takes it off the socket, ahead of OpenSSL (take_proxy_header).
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "http/proxy_protocol.hpp"
#include "security/tls_context.hpp"

namespace cgihost {

class ConnectionTransport {
  public:
    enum class Write { idle, progress, blocked, failed };
    using ProxyHeaderDone = std::function<void(const ProxyHeader&)>;

    virtual ~ConnectionTransport() = default;

    // The bufferevent on the socket: a socket bufferevent, or bufferevent_openssl's.
    bufferevent* socket() const { return socket_; }
    int fd() const { return bufferevent_getfd(socket_); }
    virtual bool is_tls() const = 0;
    // Appends body bytes that can be had at once, without waiting; false when none.
    virtual bool read_available(evbuffer* into) = 0;
    // Writes what it can of `from` to the client, removing what is written. `blocked` means
    // the socket is full: call again once it is writable.
    virtual Write write(evbuffer* from) = 0;
    // Sends bytes evhttp knows nothing of; what does not fit now is left to the bufferevent.
    // `then_end`: tell the client nothing more will come (we go on reading).
    virtual void send_raw(std::string_view bytes, bool then_end) = 0;
    // A request came too late: tell the client, if the protocol lets us, before closing.
    virtual void send_timeout_notice(std::string_view reply) = 0;
    // The connection is about to be closed.
    virtual void say_goodbye() = 0;
    // The negotiated TLS facts; nullopt in the clear (or before the handshake is done).
    virtual std::optional<TlsSessionFacts> tls_facts() const = 0;

    // --proxy-protocol, where the header never reaches the bytes the intake reads: over TLS it
    // comes before the handshake. The transport then reads it off the socket itself and calls
    // `done` once it is complete or invalid (then nothing more is read; the caller closes the
    // connection). Call before the descriptor is set; nothing is read from the socket until
    // start(). In the clear this does nothing: the header comes with the rest of the input.
    virtual void take_proxy_header(ProxyHeaderDone /*done*/) {}
    // The descriptor is set (evhttp made its connection): reading may begin. false when it
    // cannot (out of memory): close the connection.
    virtual bool start() { return true; }

  protected:
    explicit ConnectionTransport(bufferevent* socket) : socket_(socket) {}
    bufferevent* socket_;
};

// A socket bufferevent with no descriptor yet (evhttp sets it); nullptr on failure.
std::unique_ptr<ConnectionTransport> make_plain_transport(event_base* base);
// A bufferevent_openssl that accepts a handshake once evhttp sets the descriptor, with a new
// SSL from `context`, which the connection keeps alive.
std::unique_ptr<ConnectionTransport> make_tls_transport(event_base* base,
                                                        std::shared_ptr<const TlsContext> context);

}  // namespace cgihost
