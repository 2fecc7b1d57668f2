// A small HTTP/1.1 client on raw loopback sockets, so tests control every byte they send
// and see exactly what the server framed (Content-Length, chunked, or close-delimited).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

// OpenSSL's SSL_CTX and SSL, declared as OpenSSL does, so this header needs none of it.
struct ssl_ctx_st;
struct ssl_st;

namespace cgihost::testing {

// How long a test waits for something that must happen before it calls the server hung. It is
// a guard against hangs only, never the property under test: under ASan, with a soak or a
// parallel build beside it on two shared cores, any step may take seconds. Tests assert order
// and progress instead (the answer came, and came before X); speed is measured in bench/.
inline constexpr std::chrono::seconds kHangGuard{60};

// Polls `condition` every 20 ms until it holds or `timeout` passes; returns its last answer.
// The timeout is a hang guard (kHangGuard), never the property a test checks.
inline bool wait_until(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = kHangGuard) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

struct HttpResponse {
    int status = 0;
    std::string reason;
    std::string version;  // "HTTP/1.1"
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool chunked = false;
    bool closed = false;  // the server closed the connection after this response

    // First header with this name (case-insensitive), or "" when absent.
    std::string header(const std::string& name) const;
    bool has_header(const std::string& name) const;
    size_t header_count(const std::string& name) const;
};

// Speaking HTTPS: the CA to trust and the name to ask for (SNI) and check the certificate
// against.
struct TlsClientOptions {
    std::string ca_file;
    std::string server_name = "localhost";
    std::string alpn = "http/1.1";  // offered protocol; "" = no ALPN extension
};

class HttpConnection {
  public:
    // `source`, when given, is the local IPv4 address to connect from (any of 127.0.0.0/8
    // works on loopback), so one test can be several clients.
    explicit HttpConnection(uint16_t port, const std::string& host = "127.0.0.1",
                            const std::string& source = "");
    // The same over TLS: connected() only once the handshake succeeded and the certificate
    // was verified against `tls.ca_file` for `tls.server_name`.
    HttpConnection(uint16_t port, const TlsClientOptions& tls,
                   const std::string& host = "127.0.0.1");
    ~HttpConnection();
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;

    // Begins TLS on a connection opened in the clear, after what send_raw sent and then
    // `prefix` (a PROXY header), which goes out in one segment with the ClientHello: true once
    // the handshake succeeded and the certificate was verified; closes the connection otherwise.
    bool start_tls(const TlsClientOptions& tls, const std::string& prefix = "");

    bool connected() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    void send_raw(const std::string& bytes);
    // Reads one response; nullopt on timeout or a connection closed before a full response.
    std::optional<HttpResponse> read_response(bool head_request = false,
                                              std::chrono::milliseconds timeout = kHangGuard);
    // Sends a simple request (adds Host and, with a body, Content-Length) and reads the reply.
    std::optional<HttpResponse> request(
        const std::string& method, const std::string& target,
        const std::vector<std::pair<std::string, std::string>>& headers = {},
        const std::string& body = {});
    // Reads until the server closes or `timeout` passes; returns everything received.
    std::string read_until_close(std::chrono::milliseconds timeout = kHangGuard);
    // True when the peer has closed (reads EOF within `timeout`).
    bool wait_closed(std::chrono::milliseconds timeout = kHangGuard);
    // Whether the peer's EOF has been read.
    bool closed_by_peer() const { return eof_; }
    // Reads until what has arrived (and is not yet parsed) contains `text`; false when the
    // connection ends or `timeout` passes first. A later read_response still sees it all.
    bool wait_for_text(const std::string& text, std::chrono::milliseconds timeout = kHangGuard);
    // Reads and drops `length` body bytes, calling `progress` with the count so far now and
    // then; false when the connection ends first or `timeout` passes.
    bool skip_exact(uint64_t length, const std::function<void(uint64_t)>& progress,
                    std::chrono::milliseconds timeout = kHangGuard);
    void close();

    // Over TLS: what was negotiated ("TLSv1.3", the ALPN protocol, the server certificate's
    // subject line); "" in the clear.
    std::string tls_protocol() const;
    std::string tls_alpn() const;
    std::string tls_peer_subject() const;

  private:
    void open_socket(const std::string& host, const std::string& source);
    bool handshake(const TlsClientOptions& tls);
    bool fill(std::chrono::steady_clock::time_point deadline);
    bool wait_for(short events, std::chrono::steady_clock::time_point deadline);
    std::optional<std::string> read_line(std::chrono::steady_clock::time_point deadline);
    bool read_exact(size_t n, std::string& out, std::chrono::steady_clock::time_point deadline);

    int fd_ = -1;
    uint16_t port_;
    std::string buffer_;
    bool eof_ = false;
    ssl_ctx_st* tls_context_ = nullptr;  // OpenSSL's SSL_CTX and SSL, when over TLS
    ssl_st* ssl_ = nullptr;
};

// Percent-encodes all but RFC 3986 unreserved characters, for one value inside a query.
std::string encode_query(std::string_view text);

// One request on a fresh connection.
std::optional<HttpResponse> http_get(
    uint16_t port, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers = {});
std::optional<HttpResponse> http_request(
    uint16_t port, const std::string& method, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers = {},
    const std::string& body = {});

}  // namespace cgihost::testing
