// Plain values for one HTTP exchange. The evhttp adapter turns libevent's request into a
// Request at one thin boundary, and turns a Response back; everything between is pure C++.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/unique_fd.hpp"

namespace cgihost {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive lookup of the first header called `name` (RFC 9110 §5.1).
const std::string* find_header(const HeaderList& headers, std::string_view name);
size_t count_headers(const HeaderList& headers, std::string_view name);
// ASCII case folding only, as RFC 9110 §5.1 field names need; embedded NULs compare too.
bool equals_ignore_case(std::string_view a, std::string_view b);
// A non-empty run of RFC 9110 §5.6.2 tchar: what a field name (and a method) must be.
bool is_http_token(std::string_view text);
// RFC 5234 CTL: the bytes 0x00-0x1F and 0x7F.
bool is_control_byte(char c);
// RFC 9110 §5.5: a field value holds no control byte but HTAB (a NUL or a bare CR would end it
// early for some readers and not for others).
bool is_valid_field_value(std::string_view value);
// RFC 9112 §3.2: a request-target has no whitespace or control byte.
bool is_valid_request_target(std::string_view target);

// What a TLS connection negotiated, as a script sees it (mod_ssl's variable names).
struct TlsSessionFacts {
    std::string protocol;  // SSL_PROTOCOL: "TLSv1.3"
    std::string cipher;    // SSL_CIPHER: "TLS_AES_256_GCM_SHA384"
    std::string sni;       // SSL_TLS_SNI: the server name the client asked for; "" = none
};

struct Request {
    std::string method;  // as sent: "GET"
    int version_major = 1;
    int version_minor = 1;
    std::string target;  // raw request target
    std::string path;    // raw, still percent-encoded path of the target
    std::string query;   // raw query without '?'
    bool has_query = false;
    HeaderList headers;       // in arrival order, names as sent
    std::string remote_addr;  // IPv6 without brackets
    uint16_t remote_port = 0;
    std::string local_addr;
    uint16_t local_port = 0;
    // The scheme the client used: our TLS listener, or what a trusted proxy says (forwarded.hpp).
    bool https = false;
    bool tls_connection = false;         // arrived over TLS on our own socket
    std::optional<TlsSessionFacts> tls;  // what that connection negotiated
    // Set by the access gate once the server itself authenticated the client (RFC 3875
    // §4.1.1 AUTH_TYPE, §4.1.11 REMOTE_USER); "" otherwise.
    std::string auth_type;
    std::string remote_user;

    const std::string* header(std::string_view name) const { return find_header(headers, name); }
    bool is_head() const { return method == "HEAD"; }
    std::string protocol() const {
        return "HTTP/" + std::to_string(version_major) + "." + std::to_string(version_minor);
    }
};

// A byte range of an open file, sent zero-copy by the adapter.
struct FileBody {
    UniqueFd fd;
    uint64_t offset = 0;
    uint64_t length = 0;
};

// A range of bytes shared with a cache (files/file_cache.hpp), sent without a copy.
struct SharedBody {
    std::shared_ptr<const std::string> bytes;
    uint64_t offset = 0;
    uint64_t length = 0;
};

struct Response {
    int status = 200;
    HeaderList headers;
    std::string body;
    std::optional<FileBody> file;      // when set, sent instead of body
    std::optional<SharedBody> shared;  // likewise
    bool close_connection = false;

    uint64_t body_length() const {
        return file ? file->length : shared ? shared->length : body.size();
    }
    void add_header(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
    }
};

}  // namespace cgihost
