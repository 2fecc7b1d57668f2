// libFuzzer target: the RequestFramer fed a connection's bytes, whole, in random pieces and one
// byte at a time, for up to kMaxRequests pipelined requests.
// Properties:
// - however the bytes are split, the outcome is the same: events, status, head, body, consumed;
// - a step never consumes more than it was given, and body data never exceeds max_body_size;
// - the head handed to evhttp is the request's own lines less Content-Length, Transfer-Encoding
//   and Expect, with no NUL, bare CR or bare LF, ending with CRLF CRLF;
// - a complete body is what a simple reference decoder makes of the same bytes (RFC 9112 §6.3
//   for Content-Length, §7.1 for chunked).
#include <strings.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_framer.hpp"

namespace {

using cgihost::BodyFraming;
using cgihost::FramingLimits;
using cgihost::RequestFramer;
using Event = RequestFramer::Event;

constexpr size_t kMaxRequests = 8;

// What became of one request of the input.
struct RequestOutcome {
    bool head_seen = false;
    std::string method, target, head_text;
    int version_minor = 0;
    BodyFraming framing = BodyFraming::none;
    uint64_t content_length = 0;
    bool declares_body = false, expect_continue = false;
    Event last = Event::need_more;  // complete, error, or need_more when the input ran out
    int status = 0;
    std::string body;
    size_t begin = 0, end = 0;  // the input bytes it took
    bool operator==(const RequestOutcome&) const = default;
};

[[noreturn]] void fail() {
    std::abort();
}

// The limits come from the input, so that small ones are hit as often as the defaults.
FramingLimits limits_for(uint8_t choice) {
    switch (choice % 4) {
        case 0:
            return {256, 64, 32};
        case 1:
            return {1024, 1024, 1024};  // the corpus's --max-body-size, a 1 KiB chunk line
        case 2:
            return {64, 8, 4};
        default:
            return {};  // the server's defaults
    }
}

void record_head(const cgihost::RequestHead& head, RequestOutcome& request) {
    request.head_seen = true;
    request.method = head.method;
    request.target = head.target;
    request.head_text = head.text;
    request.version_minor = head.version_minor;
    request.framing = head.framing;
    request.content_length = head.content_length;
    request.declares_body = head.declares_body;
    request.expect_continue = head.expect_continue;
}

// Feeds `data` as a socket would deliver it: pieces end at `ends` (ascending), then the rest.
std::vector<RequestOutcome> frame(std::string_view data, const FramingLimits& limits,
                                  const std::vector<size_t>& ends) {
    RequestFramer framer(limits);
    std::vector<RequestOutcome> outcomes(1);
    size_t at = 0, arrived = 0, next_end = 0;
    while (true) {
        RequestOutcome& request = outcomes.back();
        const std::string_view input = data.substr(at, arrived - at);
        const RequestFramer::Step step = framer.advance(input);
        if (step.consumed > input.size()) fail();
        if (step.event == Event::body_data) request.body.append(input.substr(0, step.consumed));
        if (request.body.size() > limits.max_body_size) fail();
        at += step.consumed;
        request.end = at;
        if (step.event == Event::head) {
            record_head(framer.head(), request);
        } else if (step.event == Event::error) {
            request.last = Event::error;
            request.status = framer.error_status();
            return outcomes;
        } else if (step.event == Event::complete) {
            request.last = Event::complete;
            if (outcomes.size() == kMaxRequests) return outcomes;
            framer.next_request();
            RequestOutcome next;
            next.begin = next.end = at;
            outcomes.push_back(next);
        } else if (step.event == Event::need_more && step.consumed == 0) {
            if (arrived == data.size()) return outcomes;
            arrived = next_end < ends.size() ? ends[next_end++] : data.size();
        }
    }
}

bool is_framing_field(std::string_view line) {
    for (std::string_view name : {"content-length:", "transfer-encoding:", "expect:"}) {
        if (line.size() >= name.size() && strncasecmp(line.data(), name.data(), name.size()) == 0)
            return true;
    }
    return false;
}

// The head evhttp is to see: the request's lines as sent, less the framing fields.
std::optional<std::string> expected_head_text(std::string_view request, size_t& head_size) {
    size_t start = 0;
    while (request.substr(start, 2) == "\r\n")
        start += 2;
    const size_t end = request.find("\r\n\r\n", start);
    if (end == std::string_view::npos) return std::nullopt;
    head_size = end + 4;
    std::string text;
    std::string_view lines = request.substr(start, end + 2 - start);
    while (!lines.empty()) {
        const std::string_view line = lines.substr(0, lines.find("\r\n") + 2);
        if (!is_framing_field(line)) text.append(line);
        lines.remove_prefix(line.size());
    }
    return text + "\r\n";
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// A chunked body as RFC 9112 §7.1 reads it, for input the framer accepted: sizes, data, CRLFs,
// then trailer lines up to the empty one. Returns the data and the bytes it spans.
std::optional<std::string> decode_chunked(std::string_view body, size_t& size) {
    std::string data;
    size_t at = 0;
    while (true) {
        const size_t line_end = body.find("\r\n", at);
        if (line_end == std::string_view::npos) return std::nullopt;
        uint64_t chunk = 0;
        for (; at < line_end && hex_value(body[at]) >= 0; ++at)
            chunk = chunk * 16 + static_cast<uint64_t>(hex_value(body[at]));
        at = line_end + 2;
        if (chunk == 0) break;
        if (chunk > body.size() - at) return std::nullopt;
        data.append(body.substr(at, chunk));
        at += chunk + 2;
    }
    while (true) {  // the trailer section
        const size_t line_end = body.find("\r\n", at);
        if (line_end == std::string_view::npos) return std::nullopt;
        const bool last = line_end == at;
        at = line_end + 2;
        if (last) break;
    }
    size = at;
    return data;
}

void check_head_text(const std::string& text) {
    if (text.size() < 4 || !text.ends_with("\r\n\r\n")) fail();
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\0') fail();
        if (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) fail();
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) fail();
        if (text[i] == '\n' && is_framing_field(std::string_view(text).substr(i + 1))) fail();
    }
}

// What a request that completed must have been, checked against the input itself.
void check_complete(std::string_view data, const RequestOutcome& request) {
    const std::string_view bytes = data.substr(request.begin, request.end - request.begin);
    size_t head_size = 0;
    const std::optional<std::string> head = expected_head_text(bytes, head_size);
    if (!head || *head != request.head_text) fail();
    const std::string_view body = bytes.substr(head_size);
    switch (request.framing) {
        case BodyFraming::none:
            if (!request.body.empty() || !body.empty()) fail();
            break;
        case BodyFraming::length:
            if (request.body != body || body.size() != request.content_length) fail();
            break;
        case BodyFraming::chunked: {
            size_t size = 0;
            const std::optional<std::string> decoded = decode_chunked(body, size);
            if (!decoded || *decoded != request.body || size != body.size()) fail();
            break;
        }
    }
}

// The statuses a refusal of the framer may have (RFC 9112, RFC 9110 §15.5, §15.6).
bool is_framing_refusal(int status) {
    constexpr std::array<int, 7> kStatuses = {400, 413, 414, 417, 431, 501, 505};
    return std::find(kStatuses.begin(), kStatuses.end(), status) != kStatuses.end();
}

void check(std::string_view data, const std::vector<RequestOutcome>& outcomes) {
    for (const RequestOutcome& request : outcomes) {
        if (request.head_seen) check_head_text(request.head_text);
        if (request.last == Event::complete) check_complete(data, request);
        if (request.last == Event::error && !is_framing_refusal(request.status)) fail();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
    if (size < 1) return 0;
    // The first byte chooses the limits and how many of the next bytes choose the cuts.
    const FramingLimits limits = limits_for(bytes[0] >> 4);
    const size_t cut_bytes = std::min<size_t>(bytes[0] % 16, size - 1);
    const std::string_view data(reinterpret_cast<const char*>(bytes + 1 + cut_bytes),
                                size - 1 - cut_bytes);
    std::vector<size_t> pieces, single_bytes;
    for (size_t i = 0, end = 0; i < cut_bytes && end < data.size(); ++i) {
        end += 1 + bytes[1 + i] % (data.size() - end);
        pieces.push_back(end);
    }
    for (size_t end = 1; end <= data.size(); ++end)
        single_bytes.push_back(end);
    const std::vector<RequestOutcome> whole = frame(data, limits, {});
    if (frame(data, limits, pieces) != whole || frame(data, limits, single_bytes) != whole) fail();
    check(data, whole);
    return 0;
}
