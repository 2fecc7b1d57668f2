// The server-wide budget for request bodies held in memory (--max-body-memory). Each body
// reserves its in-memory share before it is read; when the budget is spent, new bodies are
// refused with 503 and Retry-After instead of growing the heap until the kernel kills us.
// Shared by every worker thread: one atomic, touched once per body, never per byte.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

namespace cgihost {

class BodyMemoryBudget {
  public:
    // Bytes held until it is destroyed (or reset), then given back.
    class Reservation {
      public:
        Reservation() = default;
        Reservation(Reservation&& other) noexcept
            : budget_(std::exchange(other.budget_, nullptr)), bytes_(other.bytes_) {}
        Reservation& operator=(Reservation&& other) noexcept {
            if (this != &other) {
                reset();
                budget_ = std::exchange(other.budget_, nullptr);
                bytes_ = other.bytes_;
            }
            return *this;
        }
        Reservation(const Reservation&) = delete;
        Reservation& operator=(const Reservation&) = delete;
        ~Reservation() { reset(); }

        void reset() {
            if (budget_ != nullptr) budget_->in_use_.fetch_sub(bytes_);
            budget_ = nullptr;
        }
        bool held() const { return budget_ != nullptr; }
        uint64_t bytes() const { return budget_ != nullptr ? bytes_ : 0; }

      private:
        friend class BodyMemoryBudget;
        Reservation(BodyMemoryBudget* budget, uint64_t bytes) : budget_(budget), bytes_(bytes) {}
        BodyMemoryBudget* budget_ = nullptr;
        uint64_t bytes_ = 0;
    };

    explicit BodyMemoryBudget(uint64_t limit) : limit_(limit) {}

    // A reservation of `bytes`, or an empty one (held() false) when they do not fit.
    Reservation reserve(uint64_t bytes) {
        uint64_t used = in_use_.load();
        do {
            if (bytes > limit_ || used > limit_ - bytes) return {};
        } while (!in_use_.compare_exchange_weak(used, used + bytes));
        return {this, bytes};
    }
    uint64_t in_use() const { return in_use_.load(); }
    uint64_t limit() const { return limit_; }

  private:
    uint64_t limit_;
    std::atomic<uint64_t> in_use_{0};
};

}  // namespace cgihost
