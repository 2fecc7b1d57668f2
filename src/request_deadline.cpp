#include "request_deadline.hpp"

namespace cgihost {

void RequestDeadline::start_head(double now) {
    phase_ = Phase::head;
    head_started_ = now;
    line_length_ = 0;
    seen_head_line_ = false;
}

void RequestDeadline::receive(std::string_view bytes, double now) {
    if (bytes.empty()) return;
    if (phase_ == Phase::idle) start_head(now);
    if (phase_ == Phase::head) {
        scan_head(bytes, now);
    } else if (phase_ == Phase::body) {
        body_bytes_ += bytes.size();
    }
}

// Looks for the empty line that ends the head. LF alone also ends a line, as evhttp accepts
// it (RFC 9112 §2.2 allows recipients to), and empty lines before the request line are
// skipped as RFC 9112 §2.2 asks, so they cannot end a head that has not started.
void RequestDeadline::scan_head(std::string_view bytes, double now) {
    for (size_t i = 0; i < bytes.size(); ++i) {
        const char c = bytes[i];
        if (c == '\r') continue;
        if (c != '\n') {
            ++line_length_;
            continue;
        }
        if (line_length_ == 0 && seen_head_line_) {
            phase_ = Phase::body;
            body_started_ = now;
            body_bytes_ = bytes.size() - i - 1;
            return;
        }
        seen_head_line_ = seen_head_line_ || line_length_ > 0;
        line_length_ = 0;
    }
}

std::optional<double> RequestDeadline::deadline() const {
    switch (phase_) {
        case Phase::head:
            return head_started_ + timeouts_.header_timeout;
        case Phase::body: {
            double earned = timeouts_.body_min_rate > 0
                                ? static_cast<double>(body_bytes_) / timeouts_.body_min_rate
                                : 0;
            return body_started_ + timeouts_.body_timeout + earned;
        }
        case Phase::idle:
        case Phase::done:
            break;
    }
    return std::nullopt;
}

}  // namespace cgihost
