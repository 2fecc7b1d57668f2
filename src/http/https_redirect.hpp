// What a server with HTTPS tells plain-HTTP clients: --redirect-to-https sends them to the same
// URL on the TLS listener (308, RFC 9110 §15.4.9: the method and body are kept), and --hsts
// tells browsers to use https from then on (RFC 6797). Pure: no sockets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/http_message.hpp"
#include "http/server_names.hpp"

namespace cgihost {

// The host part of a Host header without its port ("example.org:80" → "example.org",
// "[::1]:8080" → "[::1]"); nullopt when it is not a plain name or address literal, so that
// nothing the client sent can be smuggled into a Location header.
std::optional<std::string> host_without_port(std::string_view host_header);

// https://HOST[:PORT]TARGET for `request`, with the port left out when it is 443. The host
// comes from the Host header, else from `fallback_host` (the address the request came to).
// nullopt when neither gives a usable host.
// With a canonical name in `names`, a Host that is not one of ours (or none) gives way to it.
std::optional<std::string> https_url(const Request& request, uint16_t https_port,
                                     std::string_view fallback_host,
                                     const ServerNames& names = ServerNames{});

// 308 to that URL, or 400 when there is no usable host.
Response make_https_redirect(const Request& request, uint16_t https_port,
                             std::string_view fallback_host,
                             const ServerNames& names = ServerNames{});

// The Strict-Transport-Security value: "max-age=N".
std::string hsts_header_value(uint64_t max_age_seconds);

}  // namespace cgihost
