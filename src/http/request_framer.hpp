// The framing of HTTP/1.1 requests (RFC 9112 §2-§7), checked strictly on the bytes as they
// arrive, before evhttp parses any of them. evhttp is lenient where a front proxy may not be
// (chunk sizes such as "0x5" or "+5", chunk data without its CRLF, an endless chunk-size line,
// a body on HEAD it never reads, a NUL cutting a header value), and each leniency is a way to
// smuggle a second request past a proxy. So this framer decides where every request and its
// body begin and end; evhttp only ever sees heads it approved, without framing fields.
// Pure: fed bytes, it says what they were. It never copies body data, only heads and chunk
// lines, which are bounded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/http_message.hpp"

namespace cgihost {

struct FramingLimits {
    uint64_t max_head_size = uint64_t{72} * 1024;  // request line + fields (+ trailer fields)
    uint64_t max_body_size = uint64_t{64} * 1024 * 1024;  // as sent, chunk framing included
    size_t max_chunk_line = 1024;  // a chunk-size line with its extensions, CRLF excluded
};

enum class BodyFraming { none, length, chunked };

// A complete, approved request head.
struct RequestHead {
    std::string method;
    std::string target;
    int version_minor = 1;  // the major version is always 1 here
    // The head as evhttp is to see it: the request line and the fields, less Content-Length,
    // Transfer-Encoding and Expect (the framer owns the body), ending with the empty line.
    std::string text;
    HeaderList fields;  // the fields of `text`, for deciding on a request before its body
    BodyFraming framing = BodyFraming::none;
    bool declares_body = false;    // it had Content-Length (even 0) or Transfer-Encoding
    uint64_t content_length = 0;   // with BodyFraming::length
    bool expect_continue = false;  // "Expect: 100-continue" on an HTTP/1.1 request with a body
};

class RequestFramer {
  public:
    enum class Event {
        need_more,  // the bytes consumed (maybe none) were framing; feed the rest, or more
        head,       // the head is complete: head() is valid; its body (if any) follows
        body_data,  // the `consumed` bytes are body data, to be taken as they are
        complete,   // the request ended; nothing more is taken until next_request()
        error,      // the request is refused: error_status() and error_reason() say why
    };
    struct Step {
        Event event = Event::need_more;
        size_t consumed = 0;  // bytes of the input this step took, from its start
    };

    explicit RequestFramer(FramingLimits limits) : limits_(limits) {}

    // Takes bytes from the front of `input`. Call again with what was not consumed until the
    // event is complete or error, or need_more with nothing consumed (then wait for bytes).
    Step advance(std::string_view input);
    // After `complete`: the next bytes start a new request.
    void next_request();

    const RequestHead& head() const { return head_; }
    int error_status() const { return error_status_; }
    const std::string& error_reason() const { return error_reason_; }
    // A request has begun (a byte of it arrived) and has not completed.
    bool receiving() const { return state_ != State::idle && state_ != State::done; }
    bool in_body() const;
    // Body bytes as sent so far, chunk framing included.
    uint64_t body_bytes_received() const { return body_received_; }

  private:
    enum class State {
        idle,        // before a request's first byte
        head,        // request line and fields
        body_start,  // the head was reported; its body has not begun
        length,      // Content-Length body data
        chunk_line,  // a chunk-size line
        chunk_data,  // chunk data
        chunk_crlf,  // the CRLF that must follow chunk data
        trailer,     // trailer fields after the last chunk
        done,        // complete (or refused): waiting for next_request()
    };

    Step take_head(std::string_view input);
    Step take_body(std::string_view input);
    Step take_line(std::string_view input, size_t limit, int too_long_status);
    bool head_line(std::string_view line);
    bool request_line(std::string_view line);
    bool field_line(std::string_view line);
    bool end_of_head();
    bool end_of_head_checks();
    Step take_chunk_crlf(std::string_view input);
    std::string_view within_body_limit(std::string_view input) const;
    Step take_chunk_line(std::string_view input);
    bool chunk_size_line(std::string_view line);
    bool trailer_line(std::string_view line);
    Step body_step(size_t consumed, Event event);
    Step fail(int status, std::string reason, size_t consumed = 0);

    FramingLimits limits_;
    State state_ = State::idle;
    RequestHead head_;
    std::string line_;         // the current line so far, without its LF
    uint64_t head_bytes_ = 0;  // of the head (or trailers) so far
    bool seen_request_line_ = false;
    unsigned content_lengths_ = 0;
    unsigned transfer_encodings_ = 0;
    std::string content_length_;
    std::string transfer_encoding_;
    bool expects_continue_ = false;
    bool expects_other_ = false;
    uint64_t remaining_ = 0;  // of the Content-Length body, or of the current chunk
    uint64_t body_received_ = 0;
    int error_status_ = 0;
    std::string error_reason_;
};

}  // namespace cgihost
