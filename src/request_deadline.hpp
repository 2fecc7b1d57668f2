// When a connection must have delivered its request, after Apache's mod_reqtimeout: the head
// must arrive whole within the header timeout, and the body within the body timeout, which
// every `body_min_rate` bytes received extend by a second. libevent's own timeouts measure
// only inactivity, so a client trickling one byte a second (slowloris) never trips them.
// Pure: it is fed the bytes received and the clock, and says when to give up.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cgihost {

struct RequestTimeouts {
    double header_timeout = 20;  // seconds from the request's first byte to its blank line
    double body_timeout = 20;    // seconds for the body, before any extension
    double body_min_rate = 500;  // bytes that earn the body one more second; 0 = no extension
};

class RequestDeadline {
  public:
    enum class Phase {
        idle,  // between requests: the keep-alive timeout governs, not this deadline
        head,  // the request line and headers are arriving
        body,  // the head is complete; the body (if any) is arriving
        done,  // the whole request arrived and is being answered
    };

    explicit RequestDeadline(RequestTimeouts timeouts) : timeouts_(timeouts) {}

    // A fresh connection: its head is due from now, even if no byte ever comes.
    void start_head(double now);
    // Bytes received, in order. Outside a request (idle) the first byte starts the head clock;
    // the blank line that ends the head (RFC 9112 §2.1) starts the body clock.
    void receive(std::string_view bytes, double now);
    // The whole request was delivered; nothing is due until the next one.
    void finish() { phase_ = Phase::done; }
    // The response went out; the next request's clock starts with its first byte.
    void await_next() { phase_ = Phase::idle; }

    Phase phase() const { return phase_; }
    // The clock reading at which the connection is to be dropped; nullopt when none is due.
    std::optional<double> deadline() const;

  private:
    void scan_head(std::string_view bytes, double now);

    RequestTimeouts timeouts_;
    Phase phase_ = Phase::idle;
    double head_started_ = 0;
    double body_started_ = 0;
    uint64_t body_bytes_ = 0;
    size_t line_length_ = 0;       // bytes on the current head line, not counting CR
    bool seen_head_line_ = false;  // a non-empty line came; empty lines before it are ignored
};

}  // namespace cgihost
