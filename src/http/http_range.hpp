// Byte-range requests: the Range and Content-Range fields of RFC 9110 §14.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cgihost {

// A non-empty run of bytes of a representation: [first, first + length).
struct ByteRange {
    uint64_t first = 0;
    uint64_t length = 0;
};

enum class RangeKind {
    none,           // no usable Range: send the whole representation with 200
    single,         // send `range` with 206 and a Content-Range
    unsatisfiable,  // send 416 with `Content-Range: bytes */size`
};

struct RangeRequest {
    RangeKind kind = RangeKind::none;
    ByteRange range;  // meaningful only when kind == single
};

// Interprets a Range field value against a representation of `file_size` bytes.
// An invalid field or a unit other than "bytes" is ignored (RFC 9110 §14.2), and so is a request
// for more than one range: we never send multipart/byteranges, and §14.2 lets a server ignore
// Range entirely, so the client gets the whole file with 200 instead.
RangeRequest parse_range_header(std::string_view value, uint64_t file_size);

// The Content-Range value of a 206 response (RFC 9110 §14.4), e.g. "bytes 0-99/1000".
// `r` must be non-empty.
std::string format_content_range(ByteRange r, uint64_t size);

// The Content-Range value of a 416 response (RFC 9110 §14.4), e.g. "bytes */1000".
std::string format_unsatisfied_range(uint64_t size);

}  // namespace cgihost
