// The status as numbers, and its two renderings: the Prometheus text exposition format
// (--metrics-url) and JSON (--status-url ?json, which the status page polls). Pure: the
// worker gathers a StatusReport, these functions only format it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "status/server_metrics.hpp"

namespace cgihost {

struct StatusReport {
    std::string version;
    double uptime_seconds = 0;
    unsigned workers = 0;
    ServerTotals totals;
    ScriptStatsMap scripts;
    uint64_t body_memory_bytes = 0;  // request bodies held in memory (--max-body-memory)
    uint64_t body_memory_limit = 0;
    unsigned scripts_running = 0;  // holding a slot of --cgi-max-processes
    uint64_t scripts_queued = 0;   // waiting for one (--cgi-queue)
    std::vector<HistorySample> history;
};

// # HELP and # TYPE for each family; counters end in _total; histograms have cumulative
// `le` buckets ending in +Inf, then _sum and _count; label values escaped.
std::string render_prometheus(const StatusReport& report);
std::string render_status_json(const StatusReport& report);

// A label value as the exposition format wants it: backslash, double quote and line feed
// escaped. Bytes that are not valid UTF-8 become '?' (the format is UTF-8).
std::string escape_label_value(std::string_view value);
// A JSON string literal, quotes included: control characters, quote, backslash and '<' (so
// the text is harmless inside HTML too) as escapes; bytes that are not UTF-8 as \u00XX.
std::string json_string(std::string_view value);

}  // namespace cgihost
