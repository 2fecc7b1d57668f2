// libFuzzer target: Forwarded / X-Forwarded-For / X-Forwarded-Proto from a trusted proxy.
// The input's first byte picks the header, the rest is its value (split at NUL into several
// fields). Properties: a client address, when found, is a canonical IP address that parses
// back to itself, and is never a reason to give up (no problem is reported with it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/forwarded.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
    using namespace cgihost;
    static const std::vector<AddressRange> trusted = [] {
        std::string error;
        return parse_trusted_proxies({"10.0.0.0/8,fd00::/8"}, &error).value();
    }();
    std::string_view input(reinterpret_cast<const char*>(bytes), size);
    if (input.empty()) return 0;
    const char* names[] = {"Forwarded", "X-Forwarded-For", "X-Forwarded-Proto"};
    const char* name = names[static_cast<uint8_t>(input.front()) % 3];
    input.remove_prefix(1);
    HeaderList headers;
    while (true) {
        const size_t nul = input.find('\0');
        headers.emplace_back(name, std::string(input.substr(0, nul)));
        if (nul == std::string_view::npos) break;
        input.remove_prefix(nul + 1);
    }
    ForwardedClient client = find_forwarded_client(headers, "10.1.2.3", trusted);
    if (client.address && !parse_ip_address(*client.address)) std::abort();
    if (client.address && !client.problem.empty()) std::abort();
    // An untrusted peer is never believed, whatever the headers say.
    ForwardedClient untrusted = find_forwarded_client(headers, "192.0.2.1", trusted);
    if (untrusted.address || untrusted.https) std::abort();
    return 0;
}
