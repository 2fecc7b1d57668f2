#include "http/proxy_protocol.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

namespace cgihost {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
// Spec §2.2: the 12-byte signature, which no HTTP request can begin with.
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr size_t kV2FixedBytes = 16;
constexpr size_t kV2Inet4Bytes = 12;  // two IPv4 addresses, two ports
constexpr size_t kV2Inet6Bytes = 36;  // two IPv6 addresses, two ports
constexpr uint8_t kV2Version = 0x20;  // the high nibble of byte 13
constexpr uint8_t kV2CommandLocal = 0x0;
constexpr uint8_t kV2CommandProxy = 0x1;
constexpr uint8_t kFamilyInet = 0x1;
constexpr uint8_t kFamilyInet6 = 0x2;
constexpr uint8_t kFamilyUnix = 0x3;
constexpr uint8_t kTransportStream = 0x1;

ProxyHeader invalid(std::string problem) {
    ProxyHeader header;
    header.status = ProxyHeader::Status::invalid;
    header.problem = std::move(problem);
    return header;
}

ProxyHeader complete(size_t length, std::optional<ProxyEndpoint> source) {
    ProxyHeader header;
    header.status = ProxyHeader::Status::complete;
    header.length = length;
    header.source = std::move(source);
    return header;
}

// Spec §2.1: a port is a decimal number 0-65535 without leading zeros.
std::optional<uint16_t> parse_v1_port(std::string_view text) {
    unsigned value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || text.size() > 5 || (text.size() > 1 && text.front() == '0') ||
        error != std::errc() || end != text.data() + text.size() || value > 65535) {
        return std::nullopt;
    }
    return static_cast<uint16_t>(value);
}

std::optional<std::string> parse_v1_address(std::string_view text, int family) {
    unsigned char raw[16];
    const std::string copy(text);
    if (text.empty() || inet_pton(family, copy.c_str(), raw) != 1) return std::nullopt;
    char canonical[INET6_ADDRSTRLEN] = "";
    inet_ntop(family, raw, canonical, sizeof canonical);
    return std::string(canonical);
}

std::vector<std::string_view> split_on_spaces(std::string_view line) {
    std::vector<std::string_view> words;
    while (true) {
        const size_t space = line.find(' ');
        words.push_back(line.substr(0, space));
        if (space == std::string_view::npos) return words;
        line.remove_prefix(space + 1);
    }
}

// "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n", "PROXY UNKNOWN …\r\n".
ProxyHeader parse_v1(std::string_view bytes) {
    const size_t end = bytes.substr(0, kMaxProxyV1Bytes).find("\r\n");
    // Spec §2.1: US-ASCII text. A NUL would also cut an address short for inet_pton.
    const std::string_view line = bytes.substr(0, std::min(end, kMaxProxyV1Bytes));
    const bool printable = std::all_of(line.begin(), line.end(),
                                       [](char c) { return c == '\r' || (c >= 0x20 && c < 0x7f); });
    if (!printable) return invalid("a v1 header with a byte that is not printable");
    if (end == std::string_view::npos) {
        if (bytes.size() >= kMaxProxyV1Bytes) return invalid("a v1 header longer than 107 bytes");
        return {};
    }
    const std::vector<std::string_view> words = split_on_spaces(bytes.substr(0, end));
    // Spec §2.1: with UNKNOWN the rest of the line is ignored and the socket's address used.
    if (words.size() >= 2 && words[1] == "UNKNOWN") return complete(end + 2, std::nullopt);
    if (words.size() != 6)
        return invalid("a v1 header that is not PROXY PROTO SRC DST SPORT DPORT");
    const int family = words[1] == "TCP4" ? AF_INET : words[1] == "TCP6" ? AF_INET6 : AF_UNSPEC;
    if (family == AF_UNSPEC) return invalid("a v1 header with protocol other than TCP4/TCP6");
    auto source = parse_v1_address(words[2], family);
    auto destination = parse_v1_address(words[3], family);
    auto source_port = parse_v1_port(words[4]);
    auto destination_port = parse_v1_port(words[5]);
    if (!source || !destination || !source_port || !destination_port)
        return invalid("a v1 header with a malformed address or port");
    return complete(end + 2, ProxyEndpoint{*source, *source_port});
}

ProxyEndpoint read_v2_source(std::string_view payload, int family) {
    const size_t address_bytes = family == AF_INET ? 4 : 16;
    char text[INET6_ADDRSTRLEN] = "";
    inet_ntop(family, payload.data(), text, sizeof text);
    const auto* port = reinterpret_cast<const unsigned char*>(payload.data() + 2 * address_bytes);
    return {text, static_cast<uint16_t>((port[0] << 8) | port[1])};
}

// Spec §2.2: signature, version and command, family and transport, length, then addresses
// and TLVs (skipped: they lie within the announced length).
ProxyHeader parse_v2(std::string_view bytes) {
    if (bytes.size() < kV2FixedBytes) return {};
    const auto version_command = static_cast<uint8_t>(bytes[12]);
    const auto family_transport = static_cast<uint8_t>(bytes[13]);
    const size_t payload_length =
        (size_t{static_cast<uint8_t>(bytes[14])} << 8) | static_cast<uint8_t>(bytes[15]);
    if ((version_command & 0xf0) != kV2Version) return invalid("a v2 header of another version");
    const uint8_t command = version_command & 0x0f;
    if (command != kV2CommandLocal && command != kV2CommandProxy)
        return invalid("a v2 header with an unknown command");
    const uint8_t family = family_transport >> 4;
    const uint8_t transport = family_transport & 0x0f;
    if (family > kFamilyUnix || transport > 2) return invalid("a v2 header of unknown family");
    if (payload_length > kMaxProxyV2Payload)
        return invalid("a v2 header longer than " + std::to_string(kMaxProxyV2Payload) + " bytes");
    if (bytes.size() < kV2FixedBytes + payload_length) return {};
    const size_t length = kV2FixedBytes + payload_length;
    // LOCAL: the balancer speaks for itself (its health checks); UNSPEC, UNIX and datagrams
    // name nothing we can use as a client address: the socket's own stands (spec §2.2).
    if (command == kV2CommandLocal || transport != kTransportStream ||
        (family != kFamilyInet && family != kFamilyInet6)) {
        return complete(length, std::nullopt);
    }
    const std::string_view payload = bytes.substr(kV2FixedBytes, payload_length);
    const bool v4 = family == kFamilyInet;
    if (payload.size() < (v4 ? kV2Inet4Bytes : kV2Inet6Bytes))
        return invalid("a v2 header too short for its addresses");
    return complete(length, read_v2_source(payload, v4 ? AF_INET : AF_INET6));
}

}  // namespace

ProxyHeader parse_proxy_header(std::string_view bytes) {
    const size_t v1 = std::min(bytes.size(), kV1Prefix.size());
    const size_t v2 = std::min(bytes.size(), kV2Signature.size());
    if (bytes.substr(0, v1) == kV1Prefix.substr(0, v1)) {
        return bytes.size() < kV1Prefix.size() ? ProxyHeader{} : parse_v1(bytes);
    }
    if (bytes.substr(0, v2) == kV2Signature.substr(0, v2)) {
        return bytes.size() < kV2Signature.size() ? ProxyHeader{} : parse_v2(bytes);
    }
    return invalid("no PROXY protocol header");
}

}  // namespace cgihost
