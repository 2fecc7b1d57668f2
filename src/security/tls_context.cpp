#include "security/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include <fstream>
#include <iterator>

namespace cgihost {
namespace {

// Mozilla's "intermediate" configuration (TLS 1.2 suites; TLS 1.3 keeps OpenSSL's three):
// forward secrecy and AEAD only, for every client of the last several years.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:prime256v1:secp384r1";
// RFC 7301 wire format: one length-prefixed protocol name.
constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr unsigned char kSessionIdContext[] = {'c', 'g', 'i', 'h', 'o', 's', 't'};
constexpr long kSessionCacheSize = 20480;
constexpr long kSessionLifetimeSeconds = 3600;

// The oldest OpenSSL error queued on this thread, as text (the queue is then emptied).
std::string openssl_error() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "unknown OpenSSL error";
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    return text;
}

// RFC 7301 §3.2: we speak http/1.1 only; a client offering something else gets no ALPN
// answer (and may go on with HTTP/1.1 or give up), as if it had not asked.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_length,
                const unsigned char* offered, unsigned offered_length, void*) {
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, out_length, kAlpnHttp11, sizeof kAlpnHttp11, offered,
                              offered_length) != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

bool read_whole_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return !in.bad();
}

std::string apply_protocol_settings(SSL_CTX* ctx, bool tls13_only) {
    if (SSL_CTX_set_min_proto_version(ctx, tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
        return "cannot restrict TLS to 1.2 and 1.3: " + openssl_error();
    }
    if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) return "cipher list: " + openssl_error();
    if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1) return "key groups: " + openssl_error();
    SSL_CTX_set_dh_auto(ctx, 1);  // for the DHE suites: RFC 7919 groups sized to the key
    // No renegotiation (a client could make us work, and our direct SSL_write must never be
    // asked to read); no compression (CRIME); the server's order of TLS 1.2 suites.
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
    // Resumption from a server-side cache (stateful: no long-lived ticket key to rotate or
    // leak). With SSL_OP_NO_TICKET, TLS 1.3 still resumes, by stateful tickets.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, kSessionCacheSize);
    SSL_CTX_set_timeout(ctx, kSessionLifetimeSeconds);
    SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext);
    SSL_CTX_set_alpn_select_cb(ctx, &select_alpn, nullptr);
    return {};
}

std::string load_credentials(SSL_CTX* ctx, const TlsFiles& files) {
    if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1)
        return "--tls-cert '" + files.cert + "': " + openssl_error();
    if (SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1)
        return "--tls-key '" + files.key + "': " + openssl_error();
    if (SSL_CTX_check_private_key(ctx) != 1) {
        return "--tls-key '" + files.key + "' does not belong to the certificate in '" +
               files.cert + "': " + openssl_error();
    }
    return {};
}

// A staple must at least parse as an OCSP response (RFC 6960 §4.2.1), or clients that ask
// for one would abort the handshake.
std::string load_staple(const std::string& path, std::string& out) {
    if (path.empty()) return {};
    if (!read_whole_file(path, out)) return "--tls-ocsp-staple '" + path + "': cannot read it";
    const auto* bytes = reinterpret_cast<const unsigned char*>(out.data());
    OCSP_RESPONSE* response = d2i_OCSP_RESPONSE(nullptr, &bytes, static_cast<long>(out.size()));
    if (response == nullptr)
        return "--tls-ocsp-staple '" + path + "': not a DER OCSP response: " + openssl_error();
    OCSP_RESPONSE_free(response);
    return {};
}

}  // namespace

TlsSessionFacts describe_tls_session(const SSL* ssl) {
    TlsSessionFacts facts;
    facts.protocol = SSL_get_version(ssl);
    if (const char* cipher = SSL_get_cipher_name(ssl)) facts.cipher = cipher;
    if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) facts.sni = name;
    return facts;
}

std::variant<std::shared_ptr<const TlsContext>, std::string> TlsContext::load(
    const TlsFiles& files) {
    ERR_clear_error();
    std::shared_ptr<TlsContext> context(new TlsContext());
    context->ctx_ = SSL_CTX_new(TLS_server_method());
    if (context->ctx_ == nullptr) return "cannot create a TLS context: " + openssl_error();
    SSL_CTX* ctx = context->ctx_;
    if (auto error = apply_protocol_settings(ctx, files.tls13_only); !error.empty()) return error;
    if (auto error = load_credentials(ctx, files); !error.empty()) return error;
    if (auto error = load_staple(files.ocsp_staple, context->ocsp_staple_); !error.empty())
        return error;
    if (!context->ocsp_staple_.empty()) {
        SSL_CTX_set_tlsext_status_cb(ctx, &TlsContext::on_status_request);
        SSL_CTX_set_tlsext_status_arg(ctx, context.get());
    }
    return std::shared_ptr<const TlsContext>(std::move(context));
}

TlsContext::~TlsContext() {
    SSL_CTX_free(ctx_);  // SSL objects still open hold their own reference
}

// RFC 6066 §8: a client sent status_request; answer with the staple. OpenSSL frees the copy.
int TlsContext::on_status_request(SSL* ssl, void* self) {
    const std::string& staple = static_cast<const TlsContext*>(self)->ocsp_staple_;
    auto* copy = static_cast<unsigned char*>(OPENSSL_memdup(staple.data(), staple.size()));
    if (copy == nullptr) return SSL_TLSEXT_ERR_NOACK;
    SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(staple.size()));
    return SSL_TLSEXT_ERR_OK;
}

TlsContextStore::TlsContextStore(std::shared_ptr<const TlsContext> initial)
    : current_(std::move(initial)) {}

std::shared_ptr<const TlsContext> TlsContextStore::current() const {
    std::lock_guard lock(mutex_);
    return current_;
}

void TlsContextStore::replace(std::shared_ptr<const TlsContext> context) {
    std::lock_guard lock(mutex_);
    current_ = std::move(context);
}

}  // namespace cgihost
