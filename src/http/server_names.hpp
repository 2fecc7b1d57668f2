// The server's own names (--server-name, --server-aliases): which host a self-referencing URL
// may name. Without them the client's Host header is believed, which lets `Host: evil.example`
// steer every absolute URL a script builds from SERVER_NAME (a redirect, a password-reset link).
// With them the request's host is kept only when it is one of ours, and anything else gets the
// canonical name (Apache's UseCanonicalName On). Pure: no sockets.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cgihost {

struct ServerNames {
    std::string canonical;             // lower-case host name or [IPv6]; "" = believe Host
    std::vector<std::string> aliases;  // lower-case names, "*.example.org" for any subdomain
};

// A configured name, lower-cased: a DNS name (letters, digits, '-', '.', '_'; at most 253
// characters), an IPv4 address or a bracketed IPv6 address; with allow_wildcard a leading "*."
// is allowed too. nullopt when it is none of these (a port, a scheme, a path, a space...).
std::optional<std::string> parse_server_name(std::string_view text, bool allow_wildcard);

// True when `host` (lower-case, without port) is the canonical name or matches an alias.
// "*.example.org" matches "a.example.org" and "a.b.example.org" but not "example.org".
bool is_own_server_name(const ServerNames& names, std::string_view host);

// The name to put in SERVER_NAME and in absolute URLs for a request that named `requested_host`
// (lower-case, without port; nullopt when it had no usable Host): that host when no canonical
// name is configured or when it is one of ours, else the canonical name. Falls back to
// `connection_host` (the address the connection arrived on) only when neither is known.
std::string choose_server_name(const ServerNames& names,
                               const std::optional<std::string>& requested_host,
                               std::string_view connection_host);

}  // namespace cgihost
