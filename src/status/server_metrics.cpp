#include "status/server_metrics.hpp"

#include <algorithm>
#include <cmath>

namespace cgihost {
namespace {

constexpr double kMicrosecondsPerSecond = 1e6;

size_t failure_index(ScriptFailure failure) {
    auto it = std::find(kScriptFailureKinds.begin(), kScriptFailureKinds.end(), failure);
    return static_cast<size_t>(it - kScriptFailureKinds.begin());
}

// The entry for `name`, or the kOtherScripts one when the map is full of other names.
ScriptStats& entry_for(ScriptStatsMap& map, const std::string& name, size_t cap) {
    auto it = map.find(name);
    if (it != map.end()) return it->second;
    const size_t named = map.size() - (map.contains(kOtherScripts) ? 1 : 0);
    if (named >= cap) return map[kOtherScripts];
    return map[name];
}

}  // namespace

size_t duration_bucket(double seconds) {
    auto it = std::lower_bound(kDurationBuckets.begin(), kDurationBuckets.end(), seconds);
    return static_cast<size_t>(it - kDurationBuckets.begin());
}

void DurationHistogram::add(double seconds) {
    ++buckets[duration_bucket(seconds)];
    ++count;
    sum += seconds;
}

void DurationHistogram::merge(const DurationHistogram& other) {
    for (size_t i = 0; i < buckets.size(); ++i)
        buckets[i] += other.buckets[i];
    count += other.count;
    sum += other.sum;
}

const char* script_failure_name(ScriptFailure failure) {
    switch (failure) {
        case ScriptFailure::none:
            return "none";
        case ScriptFailure::exec_failed:
            return "exec_failed";
        case ScriptFailure::crashed:
            return "crashed";
        case ScriptFailure::timed_out:
            return "timed_out";
        case ScriptFailure::malformed_output:
            return "malformed_output";
        case ScriptFailure::client_gone:
            return "client_gone";
    }
    return "?";
}

void ScriptStats::add(const ScriptRun& run) {
    ++requests;
    if (run.failure != ScriptFailure::none) ++failures[failure_index(run.failure)];
    if (run.spawned) {
        if (run.first_byte_seconds >= 0) first_byte.add(run.first_byte_seconds);
        total.add(run.total_seconds);
        cpu_seconds += run.cpu_seconds;
        max_peak_rss_bytes = std::max(max_peak_rss_bytes, run.peak_rss_bytes);
    }
    bytes_sent += run.bytes_sent;
}

void ScriptStats::merge(const ScriptStats& other) {
    requests += other.requests;
    for (size_t i = 0; i < failures.size(); ++i)
        failures[i] += other.failures[i];
    first_byte.merge(other.first_byte);
    total.merge(other.total);
    cpu_seconds += other.cpu_seconds;
    max_peak_rss_bytes = std::max(max_peak_rss_bytes, other.max_peak_rss_bytes);
    bytes_sent += other.bytes_sent;
}

void add_script_run(ScriptStatsMap& map, const std::string& name, const ScriptRun& run,
                    size_t cap) {
    entry_for(map, name, cap).add(run);
}

void merge_script_stats(ScriptStatsMap& into, const ScriptStatsMap& from, size_t cap) {
    for (const auto& [name, stats] : from)
        entry_for(into, name, cap).merge(stats);
}

uint64_t ServerTotals::requests() const {
    uint64_t sum = 0;
    for (uint64_t count : responses)
        sum += count;
    return sum;
}

void WorkerMetrics::count_response(int status, uint64_t body_bytes) {
    const int status_class = status / 100;
    if (status_class >= 1 && status_class <= 5) responses_[status_class - 1].add();
    bytes_sent_.add(body_bytes);
}

void WorkerMetrics::count_script(const std::string& name, const ScriptRun& run) {
    if (run.failure != ScriptFailure::none) failures_[failure_index(run.failure)].add();
    if (run.spawned) {
        script_runs_.add();
        script_microseconds_.add(
            static_cast<uint64_t>(std::llround(run.total_seconds * kMicrosecondsPerSecond)));
    }
    std::lock_guard lock(scripts_mutex_);
    add_script_run(scripts_, name, run);
}

void WorkerMetrics::add_totals_to(ServerTotals& totals) const {
    totals.connections_opened += connections_opened_.load();
    totals.connections_closed += connections_closed_.load();
    for (size_t i = 0; i < responses_.size(); ++i)
        totals.responses[i] += responses_[i].load();
    totals.bytes_received += bytes_received_.load();
    totals.bytes_sent += bytes_sent_.load();
    totals.spawns += spawns_.load();
    for (size_t i = 0; i < failures_.size(); ++i)
        totals.failures[i] += failures_[i].load();
    totals.script_runs += script_runs_.load();
    totals.script_seconds +=
        static_cast<double>(script_microseconds_.load()) / kMicrosecondsPerSecond;
}

void WorkerMetrics::merge_scripts_into(ScriptStatsMap& map) const {
    std::lock_guard lock(scripts_mutex_);
    merge_script_stats(map, scripts_);
}

void MetricsHistory::record(const ServerTotals& totals, double elapsed, int64_t unix_time) {
    if (has_base_ && elapsed > 0) {
        HistorySample sample;
        sample.time = unix_time;
        // The counters of two workers are read at slightly different moments: a reading may
        // lag the previous one's by a request, so a delta is clamped at zero.
        auto delta = [](uint64_t now, uint64_t before) {
            return now > before ? static_cast<double>(now - before) : 0.0;
        };
        sample.requests_per_second = delta(totals.requests(), base_.requests()) / elapsed;
        sample.spawns_per_second = delta(totals.spawns, base_.spawns) / elapsed;
        const double runs = delta(totals.script_runs, base_.script_runs);
        if (runs > 0) {
            sample.script_mean_seconds =
                std::max(0.0, totals.script_seconds - base_.script_seconds) / runs;
        }
        if (ring_.size() < capacity_) {
            ring_.push_back(sample);
        } else {
            ring_[next_] = sample;
        }
        next_ = (next_ + 1) % capacity_;
    }
    base_ = totals;
    has_base_ = true;
}

std::vector<HistorySample> MetricsHistory::samples() const {
    if (ring_.size() < capacity_) return ring_;
    std::vector<HistorySample> ordered(ring_.begin() + static_cast<std::ptrdiff_t>(next_),
                                       ring_.end());
    ordered.insert(ordered.end(), ring_.begin(),
                   ring_.begin() + static_cast<std::ptrdiff_t>(next_));
    return ordered;
}

WorkerMetrics& ServerMetrics::add_worker(bool* samples_history) {
    std::lock_guard lock(mutex_);
    if (samples_history != nullptr) *samples_history = workers_.empty();
    workers_.push_back(std::make_unique<WorkerMetrics>());
    return *workers_.back();
}

ServerTotals ServerMetrics::totals() const {
    std::lock_guard lock(mutex_);
    ServerTotals totals;
    for (const auto& worker : workers_)
        worker->add_totals_to(totals);
    return totals;
}

ScriptStatsMap ServerMetrics::scripts() const {
    std::lock_guard lock(mutex_);
    ScriptStatsMap map;
    for (const auto& worker : workers_)
        worker->merge_scripts_into(map);
    return map;
}

void ServerMetrics::sample(double monotonic, int64_t unix_time) {
    ServerTotals now = totals();
    std::lock_guard lock(mutex_);
    const double elapsed = last_sample_ < 0 ? 0 : monotonic - last_sample_;
    last_sample_ = monotonic;
    history_.record(now, elapsed, unix_time);
}

std::vector<HistorySample> ServerMetrics::history() const {
    std::lock_guard lock(mutex_);
    return history_.samples();
}

}  // namespace cgihost
