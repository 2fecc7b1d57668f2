// When a connection must have delivered its request, after Apache's mod_reqtimeout: the head
// must arrive whole within the header timeout, and the body must keep arriving at a minimum
// rate. libevent's own timeouts measure only inactivity, so a client trickling one byte a
// second (slowloris) never trips them.
// Pure: the request framer tells it where a head and a body begin, it is fed body byte counts
// and the clock, and it says when to give up.
#pragma once

#include <cstdint>
#include <optional>

namespace cgihost {

struct RequestTimeouts {
    double header_timeout = 20;  // seconds from the request's first byte to its blank line
    double body_timeout = 20;    // seconds of slack the body may fall behind its minimum rate
    double body_min_rate = 500;  // bytes per second the body must average; 0 = a fixed timeout
};

// The clock of the monotonic kind that deadlines are measured on, in seconds.
double monotonic_seconds();

class RequestDeadline {
  public:
    enum class Phase {
        idle,  // between requests: the keep-alive timeout governs, not this deadline
        head,  // the request line and headers are arriving
        body,  // the head is complete; the body is arriving
        done,  // the whole request arrived and is being answered
    };

    explicit RequestDeadline(RequestTimeouts timeouts) : timeouts_(timeouts) {}

    // A fresh connection, or the first byte of a request on an idle one: the head is due.
    void start_head(double now);
    // Starts the head clock unless a request is already under way.
    void note_request_byte(double now) {
        if (phase_ == Phase::idle) start_head(now);
    }
    // The head is complete and a body follows.
    void start_body(double now);
    // Body bytes arrived. Each earns 1/body_min_rate seconds, but the deadline never runs
    // more than body_timeout ahead of the clock, so a fast start cannot bank hours for a
    // trickle afterwards.
    void receive_body(uint64_t bytes, double now);
    // The whole request was delivered; nothing is due until the next one.
    void finish() { phase_ = Phase::done; }
    // The response went out; the next request's clock starts with its first byte.
    void await_next() { phase_ = Phase::idle; }

    Phase phase() const { return phase_; }
    // The clock reading at which the connection is to be dropped; nullopt when none is due.
    std::optional<double> deadline() const;

  private:
    RequestTimeouts timeouts_;
    Phase phase_ = Phase::idle;
    double due_ = 0;
};

}  // namespace cgihost
