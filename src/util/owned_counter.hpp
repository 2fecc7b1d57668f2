// A counter that one thread writes and any thread reads. The owner adds with a relaxed load
// and store, not a locked read-modify-write: on the request path it costs what a plain
// increment costs, and no cache line bounces between workers. Readers see a recent value,
// never a torn one; nothing else is ordered by it (a status page needs no more).
#pragma once

#include <atomic>
#include <cstdint>

namespace cgihost {

class OwnedCounter {
  public:
    // Only from the owning thread.
    void add(uint64_t n = 1) {
        value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    // From any thread.
    uint64_t load() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<uint64_t> value_{0};
};

}  // namespace cgihost
