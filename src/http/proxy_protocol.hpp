// --proxy-protocol: the header HAProxy's PROXY protocol (versions 1 and 2) puts before a
// connection's first byte, naming the client the balancer accepted. Pure: fed the bytes
// received so far, it says whether the header is complete, how long it is, and whom it names.
// Spec: haproxy.org/download/2.6/doc/proxy-protocol.txt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cgihost {

// Version 1 is one text line of at most 107 bytes (spec §2.1). Version 2 is 16 bytes and
// then the length they announce (addresses and TLVs); we accept TLVs up to this much, which
// holds what HAProxy, AWS and GCP balancers send, and refuse longer headers.
constexpr size_t kMaxProxyV1Bytes = 107;
constexpr size_t kMaxProxyV2Payload = 4096;
// The longest header we accept: the parser says invalid before more than this is needed.
constexpr size_t kMaxProxyHeaderBytes = 16 + kMaxProxyV2Payload;

struct ProxyEndpoint {
    std::string address;  // canonical text, IPv6 without brackets
    uint16_t port = 0;
};

struct ProxyHeader {
    enum class Status { need_more, complete, invalid };
    Status status = Status::need_more;
    size_t length = 0;  // complete: the bytes the header takes, to be dropped
    // complete: the client the balancer names; nullopt for LOCAL (the balancer's own health
    // check), UNKNOWN and UNSPEC: then the connection's own address stands.
    std::optional<ProxyEndpoint> source;
    std::string problem;  // invalid: why
};

// Reads the header at the start of `bytes`. need_more until it is whole; invalid as soon as
// the bytes cannot begin a valid header.
ProxyHeader parse_proxy_header(std::string_view bytes);

}  // namespace cgihost
