#include "security/login_throttle.hpp"

#include <algorithm>
#include <cmath>

#include "security/access_rules.hpp"

namespace cgihost {
namespace {

// Failures that cost nothing: a typo or two, or a browser trying a stale password first.
constexpr unsigned kFreeFailures = 2;
constexpr double kFirstDelay = 0.5;  // seconds, doubled with each further failure
constexpr size_t kIpv6HostBytes = 8;

bool is_ipv4_mapped(const IpAddress& address) {
    for (size_t i = 0; i < 10; ++i) {
        if (address[i] != 0) return false;
    }
    return address[10] == 0xff && address[11] == 0xff;
}

}  // namespace

std::string throttle_key(std::string_view remote_addr) {
    auto address = parse_ip_address(remote_addr);
    if (!address) return std::string(remote_addr);
    if (is_ipv4_mapped(*address)) {
        return std::to_string((*address)[12]) + "." + std::to_string((*address)[13]) + "." +
               std::to_string((*address)[14]) + "." + std::to_string((*address)[15]);
    }
    std::fill(address->begin() + kIpv6HostBytes, address->end(), 0);
    return std::string(reinterpret_cast<const char*>(address->data()), address->size());
}

std::optional<double> LoginThrottle::blocked_for(const std::string& client, double now) {
    if (limits_.max_failures == 0) return std::nullopt;
    std::lock_guard lock(mutex_);
    auto it = clients_.find(client);
    if (it == clients_.end()) return std::nullopt;
    const double window_end = it->second.window_start + limits_.window;
    if (now >= window_end) {
        clients_.erase(it);
        return std::nullopt;
    }
    if (it->second.failures < limits_.max_failures) return std::nullopt;
    return window_end - now;
}

double LoginThrottle::record_failure(const std::string& client, double now) {
    std::lock_guard lock(mutex_);
    auto it = clients_.find(client);
    if (it != clients_.end() && now >= it->second.window_start + limits_.window) {
        clients_.erase(it);
        it = clients_.end();
    }
    if (it == clients_.end()) {
        make_room(now);
        it = clients_.emplace(client, Entry{0, now, now}).first;
    }
    Entry& entry = it->second;
    ++entry.failures;
    entry.last_failure = now;
    if (entry.failures <= kFreeFailures) return 0;
    const double doubling = std::ldexp(
        kFirstDelay, static_cast<int>(std::min(entry.failures - kFreeFailures - 1, 30u)));
    return std::min(limits_.max_delay, doubling);
}

void LoginThrottle::make_room(double now) {
    if (clients_.size() < limits_.max_clients) return;
    std::erase_if(clients_, [&](const auto& client) {
        return now >= client.second.window_start + limits_.window;
    });
    if (clients_.size() < limits_.max_clients || clients_.empty()) return;
    auto stalest = std::min_element(
        clients_.begin(), clients_.end(),
        [](const auto& a, const auto& b) { return a.second.last_failure < b.second.last_failure; });
    clients_.erase(stalest);
}

size_t LoginThrottle::size() const {
    std::lock_guard lock(mutex_);
    return clients_.size();
}

}  // namespace cgihost
