// libFuzzer target: the Range request header (RFC 9110 §14.2) against a file of fuzzed size.
// Properties: a satisfiable range is non-empty and lies inside the file; an empty file is never
// satisfiable; and the range, written back as "bytes=first-last", parses to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "http/http_range.hpp"

namespace {

// The first bytes of an input choose the file size; small sizes are the interesting ones, so
// one byte picks either a size below 256 or a full 64-bit size read from the next 8 bytes.
constexpr size_t kSizeBytes = 8;

uint64_t take_file_size(std::string_view& input) {
    if (input.empty()) return 0;
    auto selector = static_cast<uint8_t>(input.front());
    input.remove_prefix(1);
    if (selector < 0x80 || input.size() < kSizeBytes) return selector;
    uint64_t size = 0;
    std::memcpy(&size, input.data(), kSizeBytes);
    input.remove_prefix(kSizeBytes);
    return size;
}

void check_range(cgihost::RangeRequest request, uint64_t file_size) {
    if (request.kind != cgihost::RangeKind::single) return;
    const cgihost::ByteRange& r = request.range;
    if (file_size == 0 || r.length == 0) std::abort();
    if (r.first >= file_size || r.length > file_size - r.first) std::abort();
    // The Content-Range we would send must describe exactly these bytes.
    std::string last = std::to_string(r.first + r.length - 1);
    std::string expected =
        "bytes " + std::to_string(r.first) + "-" + last + "/" + std::to_string(file_size);
    if (cgihost::format_content_range(r, file_size) != expected) std::abort();
    auto again =
        cgihost::parse_range_header("bytes=" + std::to_string(r.first) + "-" + last, file_size);
    if (again.kind != cgihost::RangeKind::single || again.range.first != r.first ||
        again.range.length != r.length) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(bytes), size);
    uint64_t file_size = take_file_size(input);
    check_range(cgihost::parse_range_header(input, file_size), file_size);
    // The same value as most clients send it, behind the unit, so the fuzzer need not find it.
    check_range(cgihost::parse_range_header("bytes=" + std::string(input), file_size), file_size);
    return 0;
}
