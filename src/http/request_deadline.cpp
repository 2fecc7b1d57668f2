#include "http/request_deadline.hpp"

#include <time.h>

#include <algorithm>

namespace cgihost {

double monotonic_seconds() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

void RequestDeadline::start_head(double now) {
    phase_ = Phase::head;
    due_ = now + timeouts_.header_timeout;
}

void RequestDeadline::start_body(double now) {
    phase_ = Phase::body;
    due_ = now + timeouts_.body_timeout;
}

void RequestDeadline::receive_body(uint64_t bytes, double now) {
    if (phase_ != Phase::body || timeouts_.body_min_rate <= 0) return;
    const double earned = static_cast<double>(bytes) / timeouts_.body_min_rate;
    due_ = std::min(due_ + earned, now + timeouts_.body_timeout);
}

std::optional<double> RequestDeadline::deadline() const {
    if (phase_ == Phase::head || phase_ == Phase::body) return due_;
    return std::nullopt;
}

}  // namespace cgihost
