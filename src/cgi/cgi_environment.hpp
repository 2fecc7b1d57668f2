// The environment and command line a CGI script is started with (RFC 3875 §4, §7.2).
// Pure: the caller gathers the facts about the request; nothing here touches sockets or files.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/server_names.hpp"

namespace cgihost {

// What the server knows about one request to a CGI script, already resolved and de-chunked.
struct CgiRequestInfo {
    std::string method;           // "GET"
    std::string protocol;         // the request's real version: "HTTP/1.1" or "HTTP/1.0"
    std::string request_uri;      // raw request target as received: "/cgi-bin/env/a?x=1"
    std::string query_string;     // raw, undecoded, without '?'; "" when absent
    std::string script_name;      // "/cgi-bin/env"
    std::string path_info;        // decoded; "" when none
    std::string script_filename;  // absolute path of the script
    std::string document_root;    // absolute docroot
    // Request headers in arrival order, names as received.
    std::vector<std::pair<std::string, std::string>> headers;
    bool has_body = false;        // a body was sent (Content-Length or chunked)
    uint64_t content_length = 0;  // its real (de-chunked) length when has_body
    std::string remote_addr;      // IPv6 without brackets
    uint16_t remote_port = 0;
    std::string server_addr;  // address the connection arrived on; IPv6 without brackets
    uint16_t server_port = 0;
    bool https = false;
    std::string ssl_protocol;  // with https: SSL_PROTOCOL, SSL_CIPHER, SSL_TLS_SNI (mod_ssl)
    std::string ssl_cipher;
    std::string ssl_tls_sni;  // "" when the client sent no server name
    std::string auth_type;    // only if the server itself authenticated; "" otherwise
    std::string remote_user;  // likewise
};

// The administrator's say over the environment; empty values mean "add nothing".
struct CgiEnvironmentConfig {
    std::string server_software;  // the same string as the Server header: "cgihost/0.1.0"
    std::string path = "/usr/local/bin:/usr/bin:/bin";  // PATH for the script; "" = no PATH
    bool pass_authorization = false;  // expose Authorization / Proxy-Authorization as HTTP_*
    std::vector<std::pair<std::string, std::string>> set;  // cgi-env-set NAME=VALUE entries
    std::vector<std::string> pass;  // cgi-env-pass: names copied from the server's environment
    ServerNames server_names;       // --server-name/--server-aliases: whose Host is believed
};

// Returns "NAME=value" strings ready for execve's envp. Each name appears once (compared
// ignoring case, RFC 3875 §4.1); later sources override earlier ones in this order: the RFC 3875
// meta-variables, HTTP_* headers, the de-facto extras (REQUEST_URI, DOCUMENT_ROOT, ...), PATH,
// `pass`, `set`. NUL bytes cannot travel through envp, so they are removed from every value.
// `server_getenv` looks names up in the server's own environment (normally ::getenv).
std::vector<std::string> build_cgi_environment(
    const CgiRequestInfo& request, const CgiEnvironmentConfig& config,
    const std::function<const char*(const char*)>& server_getenv);

// RFC 3875 §4.4 (ISINDEX queries): for GET or HEAD whose query string has no unencoded '=',
// returns {script_path, words...} where the words are the query split on '+' and each
// percent-decoded. Any other case — or a word that is empty, fails to decode or holds a NUL —
// gives {script_path} alone, because the server MUST NOT generate a partial command line.
std::vector<std::string> build_cgi_argv(std::string_view script_path, std::string_view method,
                                        std::string_view query_string);

}  // namespace cgihost
