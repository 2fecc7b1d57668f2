// What --status-url and --metrics-url report: counters kept per worker thread, written only
// by their owner and merged when someone asks, plus a history of per-second samples for the
// status page's chart.
//
// Server-wide counters are OwnedCounters (relaxed atomics, no lock on the request path). The
// per-script table sits behind a mutex of its worker's own: it is written once per CGI
// request, beside a fork and an exec that cost a thousand times more than an uncontended
// lock, and read only when the status is asked for. It holds at most kMaxTrackedScripts
// names per worker; later names are counted under kOtherScripts, so a site with endless
// script names (a --cgi-handlers extension over an upload directory) cannot grow it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "util/owned_counter.hpp"

namespace cgihost {

// Upper bounds, in seconds, of the script duration histograms' buckets (+Inf follows).
inline constexpr std::array<double, 12> kDurationBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                         0.5,   1,    2.5,   5,    10,  30};
inline constexpr size_t kMaxTrackedScripts = 200;
inline constexpr const char* kOtherScripts = "(other)";
// The history: one sample a second, ten minutes of them.
inline constexpr double kHistoryIntervalSeconds = 1;
inline constexpr size_t kHistoryCapacity = 600;

// The index of the bucket `seconds` falls in: the first bound it does not exceed, or
// kDurationBuckets.size() for +Inf.
size_t duration_bucket(double seconds);

// Counts per bucket (not cumulative; renderers accumulate), their number and their sum.
struct DurationHistogram {
    std::array<uint64_t, kDurationBuckets.size() + 1> buckets{};
    uint64_t count = 0;
    double sum = 0;

    void add(double seconds);
    void merge(const DurationHistogram& other);
};

// Why a script's request failed. Only the first reason counts, except that a crash explains
// a malformed head (the output ended because the script died).
enum class ScriptFailure { none, exec_failed, crashed, timed_out, malformed_output, client_gone };
inline constexpr std::array<ScriptFailure, 5> kScriptFailureKinds{
    ScriptFailure::exec_failed, ScriptFailure::crashed, ScriptFailure::timed_out,
    ScriptFailure::malformed_output, ScriptFailure::client_gone};
const char* script_failure_name(ScriptFailure failure);  // "exec_failed", ...

// What one request to a script came to.
struct ScriptRun {
    ScriptFailure failure = ScriptFailure::none;
    bool spawned = false;            // a process ran (else the times and usage are zero)
    double first_byte_seconds = -1;  // spawn to its first stdout byte; < 0 without output
    double total_seconds = 0;        // spawn to reap
    double cpu_seconds = 0;          // user + system, from wait4's rusage
    uint64_t peak_rss_bytes = 0;     // ru_maxrss
    uint64_t bytes_sent = 0;         // response body bytes to the client
};

struct ScriptStats {
    uint64_t requests = 0;
    std::array<uint64_t, kScriptFailureKinds.size()> failures{};  // in kScriptFailureKinds order
    DurationHistogram first_byte;
    DurationHistogram total;
    double cpu_seconds = 0;
    uint64_t max_peak_rss_bytes = 0;  // the largest of the runs' peaks
    uint64_t bytes_sent = 0;

    void add(const ScriptRun& run);
    void merge(const ScriptStats& other);
};

// By script name (SCRIPT_NAME), sorted for rendering.
using ScriptStatsMap = std::map<std::string, ScriptStats>;

// Adds under `name`, or under kOtherScripts once `cap` other names are in the map.
void add_script_run(ScriptStatsMap& map, const std::string& name, const ScriptRun& run,
                    size_t cap = kMaxTrackedScripts);
// Merges `from` into `into` with the same cap.
void merge_script_stats(ScriptStatsMap& into, const ScriptStatsMap& from,
                        size_t cap = kMaxTrackedScripts);

// The server-wide counters, summed over the workers.
struct ServerTotals {
    uint64_t connections_opened = 0;
    uint64_t connections_closed = 0;
    std::array<uint64_t, 5> responses{};  // 1xx .. 5xx
    uint64_t bytes_received = 0;          // as read from the sockets (heads, bodies, framing)
    uint64_t bytes_sent = 0;              // response bodies
    uint64_t spawns = 0;
    std::array<uint64_t, kScriptFailureKinds.size()> failures{};
    uint64_t script_runs = 0;  // scripts reaped, with script_seconds their summed durations
    double script_seconds = 0;

    uint64_t connections_open() const { return connections_opened - connections_closed; }
    uint64_t requests() const;
};

// One worker's counters. Everything but the readers is called on the owning thread only.
class WorkerMetrics {
  public:
    void connection_opened() { connections_opened_.add(); }
    void connection_closed() { connections_closed_.add(); }
    // A response handed to the client (one access-log line): its status and body bytes.
    void count_response(int status, uint64_t body_bytes);
    OwnedCounter& bytes_received() { return bytes_received_; }
    void script_spawned() { spawns_.add(); }
    void count_script(const std::string& name, const ScriptRun& run);

    // From any thread.
    void add_totals_to(ServerTotals& totals) const;
    void merge_scripts_into(ScriptStatsMap& map) const;

  private:
    OwnedCounter connections_opened_;
    OwnedCounter connections_closed_;
    std::array<OwnedCounter, 5> responses_;
    OwnedCounter bytes_received_;
    OwnedCounter bytes_sent_;
    OwnedCounter spawns_;
    std::array<OwnedCounter, kScriptFailureKinds.size()> failures_;
    OwnedCounter script_runs_;
    OwnedCounter script_microseconds_;
    mutable std::mutex scripts_mutex_;  // taken once per CGI request and per status read
    ScriptStatsMap scripts_;
};

// One point of the chart: the rates over the interval that ended at `time`.
struct HistorySample {
    int64_t time = 0;  // unix seconds
    double requests_per_second = 0;
    double spawns_per_second = 0;
    double script_mean_seconds = -1;  // the scripts reaped in the interval; < 0 when none
};

// A ring of the last `capacity` samples, each computed from two readings of the totals.
class MetricsHistory {
  public:
    explicit MetricsHistory(size_t capacity) : capacity_(capacity) {}
    // `elapsed`: seconds since the previous reading (the first reading only sets the base).
    void record(const ServerTotals& totals, double elapsed, int64_t unix_time);
    std::vector<HistorySample> samples() const;  // oldest first

  private:
    size_t capacity_;
    std::vector<HistorySample> ring_;
    size_t next_ = 0;
    bool has_base_ = false;
    ServerTotals base_;
};

// Every worker's counters and the history; one per server, in the ServerContext.
class ServerMetrics {
  public:
    ServerMetrics() = default;
    ServerMetrics(const ServerMetrics&) = delete;
    ServerMetrics& operator=(const ServerMetrics&) = delete;

    // A new worker's counters, valid as long as this object. The first worker's also
    // samples the history.
    WorkerMetrics& add_worker(bool* samples_history);
    ServerTotals totals() const;
    ScriptStatsMap scripts() const;
    // Takes a reading for the history; `monotonic` and `unix_time` are now.
    void sample(double monotonic, int64_t unix_time);
    std::vector<HistorySample> history() const;
    double uptime_seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    }

  private:
    const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    mutable std::mutex mutex_;  // the list of workers (only grows) and the history
    std::vector<std::unique_ptr<WorkerMetrics>> workers_;
    MetricsHistory history_{kHistoryCapacity};
    double last_sample_ = -1;
};

}  // namespace cgihost
