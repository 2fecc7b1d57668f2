#include "http_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace cgihost::testing {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

std::string lower(std::string text) {
    for (char& c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
    for (const auto& [key, value] : headers) {
        if (strcasecmp(key.c_str(), name.c_str()) == 0) return value;
    }
    return {};
}

bool HttpResponse::has_header(const std::string& name) const {
    return header_count(name) > 0;
}

size_t HttpResponse::header_count(const std::string& name) const {
    size_t count = 0;
    for (const auto& header : headers)
        count += strcasecmp(header.first.c_str(), name.c_str()) == 0;
    return count;
}

HttpConnection::HttpConnection(uint16_t port, const std::string& host, const std::string& source)
    : port_(port) {
    open_socket(host, source);
}

HttpConnection::HttpConnection(uint16_t port, const TlsClientOptions& tls, const std::string& host)
    : port_(port) {
    open_socket(host, "");
    if (fd_ >= 0 && !handshake(tls)) close();
}

bool HttpConnection::start_tls(const TlsClientOptions& tls, const std::string& prefix) {
    if (fd_ < 0 || ssl_ != nullptr) return false;
    // MSG_MORE holds the bytes back (corked) until the handshake's first write joins them.
    const bool sent =
        prefix.empty() || ::send(fd_, prefix.data(), prefix.size(), MSG_NOSIGNAL | MSG_MORE) ==
                              static_cast<ssize_t>(prefix.size());
    if (sent && handshake(tls)) return true;
    close();
    return false;
}

// Non-blocking from here on, so that every wait is a poll with the hang guard.
bool HttpConnection::handshake(const TlsClientOptions& tls) {
    tls_context_ = SSL_CTX_new(TLS_client_method());
    if (tls_context_ == nullptr ||
        SSL_CTX_load_verify_locations(tls_context_, tls.ca_file.c_str(), nullptr) != 1) {
        return false;
    }
    SSL_CTX_set_verify(tls_context_, SSL_VERIFY_PEER, nullptr);
    ssl_ = SSL_new(tls_context_);
    if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) return false;
    if (!tls.server_name.empty()) {
        SSL_set_tlsext_host_name(ssl_, tls.server_name.c_str());
        SSL_set1_host(ssl_, tls.server_name.c_str());
    }
    if (!tls.alpn.empty()) {
        std::string wire = static_cast<char>(tls.alpn.size()) + tls.alpn;
        SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
    }
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    const auto deadline = Clock::now() + kHangGuard;
    for (;;) {
        const int rc = SSL_connect(ssl_);
        if (rc == 1) return true;
        const int error = SSL_get_error(ssl_, rc);
        if (error == SSL_ERROR_WANT_READ && wait_for(POLLIN, deadline)) continue;
        if (error == SSL_ERROR_WANT_WRITE && wait_for(POLLOUT, deadline)) continue;
        ERR_clear_error();
        return false;
    }
}

bool HttpConnection::wait_for(short events, Clock::time_point deadline) {
    pollfd pfd{fd_, events, 0};
    return ::poll(&pfd, 1, remaining_ms(deadline)) > 0;
}

std::string HttpConnection::tls_protocol() const {
    return ssl_ != nullptr ? SSL_get_version(ssl_) : "";
}

std::string HttpConnection::tls_alpn() const {
    if (ssl_ == nullptr) return {};
    const unsigned char* name = nullptr;
    unsigned length = 0;
    SSL_get0_alpn_selected(ssl_, &name, &length);
    return std::string(reinterpret_cast<const char*>(name), length);
}

std::string HttpConnection::tls_peer_subject() const {
    if (ssl_ == nullptr) return {};
    X509* certificate = SSL_get1_peer_certificate(ssl_);
    if (certificate == nullptr) return {};
    char text[512] = "";
    X509_NAME_oneline(X509_get_subject_name(certificate), text, sizeof text);
    X509_free(certificate);
    return text;
}

void HttpConnection::open_socket(const std::string& host, const std::string& source) {
    bool v6 = host.find(':') != std::string::npos;
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    int rc = -1;
    if (!source.empty()) {
        sockaddr_in local{};
        local.sin_family = AF_INET;
        inet_pton(AF_INET, source.c_str(), &local.sin_addr);
        rc = ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local);
        if (rc != 0) {
            ::close(fd_);
            fd_ = -1;
            return;
        }
    }
    if (v6) {
        sockaddr_in6 sa{};
        sa.sin6_family = AF_INET6;
        sa.sin6_port = htons(port_);
        inet_pton(AF_INET6, host.c_str(), &sa.sin6_addr);
        rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    } else {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port_);
        inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
        rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    }
    if (rc != 0) {
        ::close(fd_);
        fd_ = -1;
        return;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

HttpConnection::~HttpConnection() {
    close();
}

void HttpConnection::close() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (tls_context_ != nullptr) SSL_CTX_free(tls_context_);
    ssl_ = nullptr;
    tls_context_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void HttpConnection::send_raw(const std::string& bytes) {
    size_t sent = 0;
    const auto deadline = Clock::now() + kHangGuard;
    while (ssl_ != nullptr && fd_ >= 0 && sent < bytes.size()) {
        const int n = SSL_write(ssl_, bytes.data() + sent, static_cast<int>(bytes.size() - sent));
        if (n > 0) {
            sent += static_cast<size_t>(n);
            continue;
        }
        const int error = SSL_get_error(ssl_, n);
        ERR_clear_error();
        if (error == SSL_ERROR_WANT_WRITE && wait_for(POLLOUT, deadline)) continue;
        if (error == SSL_ERROR_WANT_READ && wait_for(POLLIN, deadline)) continue;
        return;
    }
    while (ssl_ == nullptr && fd_ >= 0 && sent < bytes.size()) {
        ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        sent += static_cast<size_t>(n);
    }
}

bool HttpConnection::fill(Clock::time_point deadline) {
    if (eof_ || fd_ < 0) return false;
    while (ssl_ != nullptr) {
        if (SSL_pending(ssl_) == 0 && !wait_for(POLLIN, deadline)) return false;
        char chunk[65536];
        const int n = SSL_read(ssl_, chunk, sizeof chunk);
        if (n > 0) {
            buffer_.append(chunk, static_cast<size_t>(n));
            return true;
        }
        const int error = SSL_get_error(ssl_, n);
        ERR_clear_error();
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) continue;
        eof_ = true;  // close_notify, or the connection ended without one
        return false;
    }
    pollfd pfd{fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, remaining_ms(deadline));
    if (ready <= 0) return false;
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
        eof_ = true;
        return false;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
}

std::optional<std::string> HttpConnection::read_line(Clock::time_point deadline) {
    for (;;) {
        auto newline = buffer_.find('\n');
        if (newline != std::string::npos) {
            std::string line = buffer_.substr(0, newline);
            buffer_.erase(0, newline + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            return line;
        }
        if (!fill(deadline)) return std::nullopt;
    }
}

bool HttpConnection::read_exact(size_t n, std::string& out, Clock::time_point deadline) {
    while (buffer_.size() < n) {
        if (!fill(deadline)) return false;
    }
    out.append(buffer_, 0, n);
    buffer_.erase(0, n);
    return true;
}

std::optional<HttpResponse> HttpConnection::read_response(bool head_request,
                                                          std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    HttpResponse response;
    auto status_line = read_line(deadline);
    if (!status_line || status_line->size() < 12) return std::nullopt;
    response.version = status_line->substr(0, 8);
    response.status = std::atoi(status_line->c_str() + 9);
    response.reason = status_line->size() > 13 ? status_line->substr(13) : "";
    for (;;) {
        auto line = read_line(deadline);
        if (!line) return std::nullopt;
        if (line->empty()) break;
        auto colon = line->find(':');
        if (colon == std::string::npos) return std::nullopt;
        std::string value = line->substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
            value.erase(0, 1);
        response.headers.emplace_back(line->substr(0, colon), value);
    }
    bool no_body =
        head_request || response.status == 204 || response.status == 304 || response.status < 200;
    response.chunked = lower(response.header("Transfer-Encoding")) == "chunked";
    if (no_body) {
        // nothing to read
    } else if (response.chunked) {
        for (;;) {
            auto size_line = read_line(deadline);
            if (!size_line) return std::nullopt;
            size_t size = std::strtoul(size_line->c_str(), nullptr, 16);
            if (size == 0) {
                while (true) {  // trailers up to the blank line
                    auto trailer = read_line(deadline);
                    if (!trailer) return std::nullopt;
                    if (trailer->empty()) break;
                }
                break;
            }
            if (!read_exact(size, response.body, deadline)) return std::nullopt;
            if (!read_line(deadline)) return std::nullopt;
        }
    } else if (response.has_header("Content-Length")) {
        size_t length = std::strtoull(response.header("Content-Length").c_str(), nullptr, 10);
        if (!read_exact(length, response.body, deadline)) return std::nullopt;
    } else {
        while (fill(deadline)) {
        }
        if (!eof_) return std::nullopt;
        response.body = std::move(buffer_);
        buffer_.clear();
    }
    response.closed = lower(response.header("Connection")) == "close" || eof_;
    return response;
}

std::optional<HttpResponse> HttpConnection::request(
    const std::string& method, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
    std::string text = method + " " + target + " HTTP/1.1\r\n";
    bool has_host = false;
    for (const auto& [name, value] : headers) {
        has_host = has_host || strcasecmp(name.c_str(), "Host") == 0;
        text += name + ": " + value + "\r\n";
    }
    if (!has_host) text += "Host: 127.0.0.1:" + std::to_string(port_) + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT") {
        text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    text += "\r\n" + body;
    send_raw(text);
    return read_response(method == "HEAD");
}

std::string HttpConnection::read_until_close(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (fill(deadline)) {
    }
    std::string all = std::move(buffer_);
    buffer_.clear();
    return all;
}

bool HttpConnection::wait_closed(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (fill(deadline))
        buffer_.clear();
    return eof_;
}

bool HttpConnection::wait_for_text(const std::string& text, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (buffer_.find(text) == std::string::npos) {
        if (!fill(deadline)) return false;
    }
    return true;
}

bool HttpConnection::skip_exact(uint64_t length, const std::function<void(uint64_t)>& progress,
                                std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    uint64_t done = 0;
    while (done < length) {
        if (buffer_.empty() && !fill(deadline)) return false;
        const uint64_t take = std::min<uint64_t>(buffer_.size(), length - done);
        buffer_.erase(0, take);
        done += take;
        if (progress) progress(done);
    }
    return true;
}

std::string encode_query(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += kHex[byte >> 4];
            out += kHex[byte & 15];
        }
    }
    return out;
}

std::optional<HttpResponse> http_get(
    uint16_t port, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers) {
    return http_request(port, "GET", target, headers);
}

std::optional<HttpResponse> http_request(
    uint16_t port, const std::string& method, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
    HttpConnection connection(port);
    if (!connection.connected()) return std::nullopt;
    return connection.request(method, target, headers, body);
}

}  // namespace cgihost::testing
