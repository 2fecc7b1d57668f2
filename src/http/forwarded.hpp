// --trusted-proxies: who the client is when a request comes through a reverse proxy. Pure.
// Only a request whose TCP peer (or PROXY-protocol source) lies in a trusted range is
// believed; then the client address comes from `Forwarded` (RFC 7239) when the request has
// one, else from `X-Forwarded-For`, and the scheme from Forwarded's proto= or
// `X-Forwarded-Proto`. Both lists are walked from the right, the hop nearest to us, skipping
// hops that are themselves trusted proxies: the first address that is not one is the client.
// Entries left of it were written by the client itself and are never looked at, so a client
// cannot spoof its address by sending a header of its own. Anything malformed on the walk
// keeps the peer's address (and says why).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_message.hpp"
#include "security/access_rules.hpp"

namespace cgihost {

// Limits on what the walk reads; beyond them the header counts as malformed. Only the hops
// walked count: what the client wrote further left (however long; max-header-size bounds it)
// is never read, so it cannot make the trusted proxy's own entry unreadable.
constexpr size_t kMaxForwardedHops = 32;
constexpr size_t kMaxForwardedElementBytes = 1024;

// Who the client is, as the trusted proxies tell it. Empty optionals: keep what the
// connection says.
struct ForwardedClient {
    std::optional<std::string> address;  // canonical text, IPv6 without brackets
    uint16_t port = 0;                   // from Forwarded for="…:port"; 0 = not told
    std::optional<bool> https;           // from proto= or X-Forwarded-Proto
    std::string problem;                 // why a header was ignored; "" = none
};

// `peer` is the address the connection comes from; `trusted` the --trusted-proxies ranges.
ForwardedClient find_forwarded_client(const HeaderList& headers, std::string_view peer,
                                      const std::vector<AddressRange>& trusted);

// Parses --trusted-proxies' "CIDR[,CIDR…]" (each option value may hold a list).
std::optional<std::vector<AddressRange>> parse_trusted_proxies(
    const std::vector<std::string>& values, std::string* error);

}  // namespace cgihost
