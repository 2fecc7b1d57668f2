// libFuzzer target: URL decoding and normalisation. Property: a path that normalises is
// absolute, has no "." or ".." segment, no empty segment, no NUL or backslash, and
// normalising it again changes nothing once it is percent-encoded back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "static_files.hpp"
#include "target_resolver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
    std::string_view raw(reinterpret_cast<const char*>(bytes), size);
    auto normalized = cgihost::normalize_url_path(raw);
    if (!normalized) return 0;
    const std::string& path = *normalized;
    if (path.empty() || path.front() != '/') std::abort();
    if (path.find('\0') != std::string::npos || path.find('\\') != std::string::npos) {
        std::abort();
    }
    size_t start = 1;
    while (start < path.size()) {
        size_t slash = path.find('/', start);
        if (slash == std::string::npos) slash = path.size();
        std::string_view segment(path.data() + start, slash - start);
        if (segment.empty() || segment == "." || segment == "..") std::abort();
        start = slash + 1;
    }
    auto again = cgihost::normalize_url_path(cgihost::encode_url_path(path));
    if (!again || *again != path) std::abort();
    return 0;
}
