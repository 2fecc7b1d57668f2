// Who may run a script now: the server-wide slots of cgi-max-processes, a cap per client
// address (cgi-max-per-client), and a bounded FIFO queue (cgi-queue) for requests that find
// every slot taken, in the manner of a thread pool's task queue. One object serves every
// worker thread; it is touched only when a script is about to start or has ended, never on
// the static-file path, so a plain mutex costs nothing that matters.
//
// It knows no sockets, loops or clocks: a queued request hands in a Waker, which is called
// (under the lock, so it must only post, e.g. event_active on the waiter's own loop) when a
// slot becomes the waiter's. Timeouts and departed clients are the caller's: they withdraw().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace cgihost {

struct CgiAdmissionLimits {
    unsigned max_running = 1024;  // cgi-max-processes: scripts running at once, all workers
    unsigned max_per_client = 0;  // cgi-max-per-client: running + queued per address; 0 = none
    size_t queue_capacity = 0;    // cgi-queue: requests waiting for a slot; 0 = no queue
};

class CgiAdmission {
  public:
    enum class Decision {
        run,              // the caller holds a slot now; release() it when the script is reaped
        queued,           // the caller waits; its Waker runs once a slot is its own
        client_over_cap,  // this address already has max_per_client scripts running or waiting
        queue_full,       // every slot taken and the queue full (or the server is stopping)
    };
    using Ticket = uint64_t;
    using Waker = std::function<void()>;

    explicit CgiAdmission(CgiAdmissionLimits limits) : limits_(limits) {}
    CgiAdmission(const CgiAdmission&) = delete;
    CgiAdmission& operator=(const CgiAdmission&) = delete;

    // Asks for a slot for a request from `client` (its address). On `queued`, `ticket`
    // names the waiter for withdraw().
    Decision admit(const std::string& client, Waker wake, Ticket& ticket);
    // A queued request leaves (its client hung up, it waited too long, the server stops).
    // true: it was still waiting and holds nothing. false: a slot was already handed to it
    // (its Waker has run or is running); it holds that slot and must release() it.
    bool withdraw(Ticket ticket);
    // A script of `client` that held a slot is over: the slot goes to the oldest waiter, if
    // any, whose Waker runs before this returns.
    void release(const std::string& client);
    // The server stops: from now on nothing is queued or handed a slot; waiters are answered
    // by their owners (withdraw() then still tells whether they hold a slot).
    void close();

    unsigned running() const;
    size_t queued() const;
    // Scripts of `client` running or waiting.
    unsigned admitted_for(const std::string& client) const;

  private:
    struct Waiter {
        std::string client;
        Waker wake;
    };

    void forget_one_of(const std::string& client);

    const CgiAdmissionLimits limits_;
    mutable std::mutex mutex_;
    unsigned running_ = 0;
    bool closed_ = false;
    Ticket next_ticket_ = 1;
    // Tickets grow with arrival, so the map's first entry is the oldest waiter (FIFO).
    std::map<Ticket, Waiter> waiters_;
    // Running + queued per client address; an address leaves the map at zero.
    std::unordered_map<std::string, unsigned> per_client_;
};

}  // namespace cgihost
