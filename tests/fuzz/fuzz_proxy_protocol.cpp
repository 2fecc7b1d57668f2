// libFuzzer target: the PROXY protocol header (v1 and v2). Properties: a complete header's
// length lies within the input and its source parses as an IP address; the verdict on the
// header's own bytes does not change when more bytes follow it; and no prefix of a complete
// header is invalid (the intake, fed a header in pieces, must wait, not refuse).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/proxy_protocol.hpp"
#include "security/access_rules.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
    using namespace cgihost;
    using Status = ProxyHeader::Status;
    const std::string_view input(reinterpret_cast<const char*>(bytes), size);
    const ProxyHeader header = parse_proxy_header(input);
    if (header.status != Status::complete) return 0;
    if (header.length == 0 || header.length > input.size()) std::abort();
    if (header.source && !parse_ip_address(header.source->address)) std::abort();
    const ProxyHeader alone = parse_proxy_header(input.substr(0, header.length));
    if (alone.status != Status::complete || alone.length != header.length) std::abort();
    for (size_t cut = 0; cut < header.length; ++cut) {
        if (parse_proxy_header(input.substr(0, cut)).status != Status::need_more) std::abort();
    }
    return 0;
}
