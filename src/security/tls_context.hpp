// The server's TLS settings as one OpenSSL SSL_CTX: certificate chain and key, TLS 1.2 and 1.3
// only, Mozilla's "intermediate" cipher list with the server's preference for TLS 1.2, ALPN
// http/1.1, a server-side session cache for resumption, and an optional stapled OCSP response.
// Every worker thread makes its connections' SSL objects from the current context; SIGHUP
// builds a new one from the files the reloaded configuration names and swaps it in
// (TlsContextStore), so connections already open keep the context they started with.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>
#include <variant>

#include "http/http_message.hpp"

namespace cgihost {

struct TlsFiles {
    std::string cert;         // PEM: the server's certificate, then its chain
    std::string key;          // PEM private key
    std::string ocsp_staple;  // DER OCSP response; "" = none
    bool tls13_only = false;  // refuse TLS 1.2 clients (--tls-min-version 1.3)
};

TlsSessionFacts describe_tls_session(const SSL* ssl);

class TlsContext {
  public:
    // Reads and checks the files (the key must match the certificate). Returns the context,
    // or a line saying which file is wrong and why.
    static std::variant<std::shared_ptr<const TlsContext>, std::string> load(const TlsFiles& files);

    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    SSL_CTX* get() const { return ctx_; }
    // A new server-side SSL for one connection; nullptr when OpenSSL fails.
    SSL* new_connection() const { return SSL_new(ctx_); }

  private:
    TlsContext() = default;
    static int on_status_request(SSL* ssl, void* self);

    SSL_CTX* ctx_ = nullptr;
    std::string ocsp_staple_;
};

// The context new connections get, replaced as a whole on reload. current() is called once
// per accepted TLS connection, from any worker thread.
class TlsContextStore {
  public:
    explicit TlsContextStore(std::shared_ptr<const TlsContext> initial);
    std::shared_ptr<const TlsContext> current() const;
    // Makes `context` the one new connections get (the reload loads it, and swaps it in only
    // once the whole configuration validated).
    void replace(std::shared_ptr<const TlsContext> context);

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const TlsContext> current_;
};

}  // namespace cgihost
