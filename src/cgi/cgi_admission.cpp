#include "cgi/cgi_admission.hpp"

#include <utility>

namespace cgihost {

CgiAdmission::Decision CgiAdmission::admit(const std::string& client, Waker wake, Ticket& ticket) {
    std::lock_guard lock(mutex_);
    if (closed_) return Decision::queue_full;
    auto count = per_client_.find(client);
    // A client at its cap is refused at once, not queued, as nginx's limit_conn does: queue
    // places are shared, and one address must not be able to fill them either.
    if (limits_.max_per_client != 0 && count != per_client_.end() &&
        count->second >= limits_.max_per_client) {
        return Decision::client_over_cap;
    }
    // Nobody overtakes a waiter: with anyone queued, a newcomer queues behind them.
    if (running_ < limits_.max_running && waiters_.empty()) {
        ++running_;
        ++per_client_[client];
        return Decision::run;
    }
    if (waiters_.size() >= limits_.queue_capacity) return Decision::queue_full;
    ticket = next_ticket_++;
    waiters_.emplace(ticket, Waiter{client, std::move(wake)});
    ++per_client_[client];
    return Decision::queued;
}

bool CgiAdmission::withdraw(Ticket ticket) {
    std::lock_guard lock(mutex_);
    auto waiter = waiters_.find(ticket);
    if (waiter == waiters_.end()) return false;
    forget_one_of(waiter->second.client);
    waiters_.erase(waiter);
    return true;
}

void CgiAdmission::release(const std::string& client) {
    std::lock_guard lock(mutex_);
    forget_one_of(client);
    if (closed_ || waiters_.empty()) {
        --running_;
        return;
    }
    // The slot passes straight to the oldest waiter, so running_ stays as it is; its client
    // was counted when it queued.
    auto oldest = waiters_.begin();
    Waker wake = std::move(oldest->second.wake);
    waiters_.erase(oldest);
    wake();
}

void CgiAdmission::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
}

unsigned CgiAdmission::running() const {
    std::lock_guard lock(mutex_);
    return running_;
}

size_t CgiAdmission::queued() const {
    std::lock_guard lock(mutex_);
    return waiters_.size();
}

unsigned CgiAdmission::admitted_for(const std::string& client) const {
    std::lock_guard lock(mutex_);
    auto count = per_client_.find(client);
    return count == per_client_.end() ? 0 : count->second;
}

void CgiAdmission::forget_one_of(const std::string& client) {
    auto count = per_client_.find(client);
    if (count == per_client_.end()) return;
    if (--count->second == 0) per_client_.erase(count);
}

}  // namespace cgihost
