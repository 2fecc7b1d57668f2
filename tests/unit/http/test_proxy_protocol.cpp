#include "http/proxy_protocol.hpp"

#include <gtest/gtest.h>

namespace cgihost {
namespace {

using Status = ProxyHeader::Status;
using namespace std::string_literals;

const std::string kSignature = "\r\n\r\n\0\r\nQUIT\n"s;

std::string v2(uint8_t version_command, uint8_t family, std::string payload) {
    std::string header = kSignature;
    header += static_cast<char>(version_command);
    header += static_cast<char>(family);
    header += static_cast<char>(payload.size() >> 8);
    header += static_cast<char>(payload.size() & 0xff);
    return header + payload;
}

// 192.0.2.7:56324 → 198.51.100.1:443, then a TLV (type 0x04 NOOP, 3 bytes).
const std::string kV2Tcp4 = v2(0x21, 0x11,
                               "\xc0\x00\x02\x07\xc6\x33\x64\x01\xdc\x04\x01\xbb\x04\x00\x03"
                               "abc"s);

std::string v2_tcp6() {
    std::string payload(16, '\0');
    payload[0] = '\x20';
    payload[1] = '\x01';
    payload[2] = '\x0d';
    payload[3] = '\xb8';
    payload[15] = '\x09';                        // 2001:db8::9
    payload += std::string(15, '\0') + "\x01"s;  // ::1
    payload += "\x00\x50\x01\xbb"s;              // ports 80, 443
    return v2(0x21, 0x21, payload);
}

TEST(ProxyProtocol, ReadsAVersion1Header) {
    const std::string line = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n";
    ProxyHeader header = parse_proxy_header(line + "GET / HTTP/1.1\r\n");
    ASSERT_EQ(header.status, Status::complete) << header.problem;
    EXPECT_EQ(header.length, line.size());
    ASSERT_TRUE(header.source);
    EXPECT_EQ(header.source->address, "192.0.2.7");
    EXPECT_EQ(header.source->port, 56324);
    header = parse_proxy_header("PROXY TCP6 2001:DB8::9 ::1 80 443\r\n");
    ASSERT_EQ(header.status, Status::complete) << header.problem;
    EXPECT_EQ(header.source->address, "2001:db8::9");
}

TEST(ProxyProtocol, Version1UnknownKeepsTheSocketAddress) {
    ProxyHeader header = parse_proxy_header("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n");
    ASSERT_EQ(header.status, Status::complete);
    EXPECT_FALSE(header.source);
    EXPECT_EQ(parse_proxy_header("PROXY UNKNOWN\r\n").status, Status::complete);
}

TEST(ProxyProtocol, ReadsVersion2ProxyAndSkipsItsTlvs) {
    ProxyHeader header = parse_proxy_header(kV2Tcp4 + "GET /");
    ASSERT_EQ(header.status, Status::complete) << header.problem;
    EXPECT_EQ(header.length, kV2Tcp4.size());
    ASSERT_TRUE(header.source);
    EXPECT_EQ(header.source->address, "192.0.2.7");
    EXPECT_EQ(header.source->port, 56324);
    header = parse_proxy_header(v2_tcp6());
    ASSERT_EQ(header.status, Status::complete) << header.problem;
    EXPECT_EQ(header.source->address, "2001:db8::9");
    EXPECT_EQ(header.source->port, 80);
}

TEST(ProxyProtocol, Version2LocalAndUnspecKeepTheSocketAddress) {
    for (const std::string& bytes :
         {v2(0x20, 0x00, ""), v2(0x20, 0x11, std::string(12, '\0')), v2(0x21, 0x00, "xyz"),
          v2(0x21, 0x31, std::string(216, '\0')), v2(0x21, 0x12, std::string(12, '\0'))}) {
        ProxyHeader header = parse_proxy_header(bytes);
        ASSERT_EQ(header.status, Status::complete) << header.problem;
        EXPECT_EQ(header.length, bytes.size());
        EXPECT_FALSE(header.source);
    }
}

TEST(ProxyProtocol, EveryPrefixOfAValidHeaderNeedsMore) {
    for (const std::string& whole :
         {std::string("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n"), kV2Tcp4, v2_tcp6()}) {
        for (size_t cut = 0; cut < whole.size(); ++cut) {
            EXPECT_EQ(parse_proxy_header(whole.substr(0, cut)).status, Status::need_more) << cut;
        }
        EXPECT_EQ(parse_proxy_header(whole).status, Status::complete);
    }
}

TEST(ProxyProtocol, RefusesAConnectionWithoutAHeaderAtItsFirstByte) {
    for (const char* bytes : {"GET / HTTP/1.1\r\n", "G", "\x16\x03\x01", "PROXY\r\n", "proxy "}) {
        EXPECT_EQ(parse_proxy_header(bytes).status, Status::invalid) << bytes;
    }
}

TEST(ProxyProtocol, RefusesMalformedVersion1Headers) {
    for (const char* line : {
             "PROXY TCP4 192.0.2.7 198.51.100.1 56324\r\n",
             "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443 extra\r\n",
             "PROXY TCP4  192.0.2.7 198.51.100.1 56324 443\r\n",
             "PROXY TCP4 2001:db8::1 198.51.100.1 56324 443\r\n",
             "PROXY TCP6 192.0.2.7 ::1 56324 443\r\n",
             "PROXY TCP4 192.0.2.7 198.51.100.1 65536 443\r\n",
             "PROXY TCP4 192.0.2.7 198.51.100.1 0443 443\r\n",
             "PROXY TCP4 192.0.2.7 198.51.100.1 -1 443\r\n",
             "PROXY UDP4 192.0.2.7 198.51.100.1 1 443\r\n",
             "PROXY TCP4 192.0.2.7 198.51.100.1 1 443\n\r\n",
         }) {
        EXPECT_EQ(parse_proxy_header(line).status, Status::invalid) << line;
    }
    EXPECT_EQ(parse_proxy_header("PROXY TCP4 " + std::string(100, '1')).status, Status::invalid);
    EXPECT_EQ(parse_proxy_header("PROXY TCP4 \x01").status, Status::invalid);
    // Found by the fuzzer: inet_pton stopped at the NUL and read "::".
    EXPECT_EQ(parse_proxy_header("PROXY TCP6 2001:db8::9 ::\0\0001 8044 3\r\n"s).status,
              Status::invalid);
}

TEST(ProxyProtocol, RefusesMalformedVersion2Headers) {
    EXPECT_EQ(parse_proxy_header(v2(0x11, 0x11, std::string(12, '\0'))).status, Status::invalid);
    EXPECT_EQ(parse_proxy_header(v2(0x22, 0x11, std::string(12, '\0'))).status, Status::invalid);
    EXPECT_EQ(parse_proxy_header(v2(0x21, 0x41, std::string(12, '\0'))).status, Status::invalid);
    EXPECT_EQ(parse_proxy_header(v2(0x21, 0x13, std::string(12, '\0'))).status, Status::invalid);
    EXPECT_EQ(parse_proxy_header(v2(0x21, 0x11, std::string(11, '\0'))).status, Status::invalid);
    EXPECT_EQ(parse_proxy_header(v2(0x21, 0x21, std::string(35, '\0'))).status, Status::invalid);
    // Longer than we accept: refused from its first 16 bytes, before the rest is waited for.
    std::string huge = v2(0x21, 0x11, std::string(kMaxProxyV2Payload + 1, '\0'));
    EXPECT_EQ(parse_proxy_header(huge.substr(0, 16)).status, Status::invalid);
}

}  // namespace
}  // namespace cgihost
