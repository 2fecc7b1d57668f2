#include "status/status_report.hpp"

#include <cmath>
#include <cstdio>

namespace cgihost {
namespace {

constexpr std::array<const char*, 5> kStatusClasses{"1xx", "2xx", "3xx", "4xx", "5xx"};

// The length of the UTF-8 sequence starting at `text[i]`, or 0 when it is not one.
size_t utf8_sequence_length(std::string_view text, size_t i) {
    const auto lead = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    unsigned minimum = 0;
    unsigned code = 0;
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) {
        length = 2, minimum = 0x80, code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3, minimum = 0x800, code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4, minimum = 0x10000, code = lead & 0x07;
    } else {
        return 0;
    }
    if (i + length > text.size()) return 0;
    for (size_t k = 1; k < length; ++k) {
        const auto next = static_cast<unsigned char>(text[i + k]);
        if ((next & 0xC0) != 0x80) return 0;
        code = (code << 6) | (next & 0x3F);
    }
    const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
    return code < minimum || code > 0x10FFFF || surrogate ? 0 : length;
}

// Whole numbers (counters, bytes) exactly; fractions to nine significant digits.
std::string format_number(double value) {
    constexpr double kLargestExactInteger = 9007199254740992.0;  // 2^53
    char text[40];
    if (value == std::floor(value) && std::fabs(value) < kLargestExactInteger) {
        (void)std::snprintf(text, sizeof text, "%.0f", value);
    } else {
        (void)std::snprintf(text, sizeof text, "%.9g", value);
    }
    return text;
}

// Prometheus writes families one after another; each starts with its HELP and TYPE.
class Exposition {
  public:
    void family(const char* name, const char* type, const char* help) {
        out_ += std::string("# HELP ") + name + ' ' + help + '\n';
        out_ += std::string("# TYPE ") + name + ' ' + type + '\n';
    }
    // `labels` is already rendered: `script="x",kind="y"` or empty.
    void sample(std::string_view name, const std::string& labels, double value) {
        out_ += name;
        if (!labels.empty()) out_ += '{' + labels + '}';
        out_ += ' ' + format_number(value) + '\n';
    }
    void histogram(const std::string& name, const std::string& labels,
                   const DurationHistogram& histogram) {
        const std::string bucket_name = name + "_bucket";
        uint64_t cumulative = 0;
        for (size_t i = 0; i < histogram.buckets.size(); ++i) {
            cumulative += histogram.buckets[i];
            std::string bucket_labels = labels.empty() ? "" : labels + ',';
            bucket_labels += "le=\"";
            bucket_labels +=
                i < kDurationBuckets.size() ? format_number(kDurationBuckets[i]) : "+Inf";
            bucket_labels += '"';
            sample(bucket_name, bucket_labels, static_cast<double>(cumulative));
        }
        sample(name + "_sum", labels, histogram.sum);
        sample(name + "_count", labels, static_cast<double>(histogram.count));
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

std::string label(const char* name, std::string_view value) {
    return std::string(name) + "=\"" + escape_label_value(value) + '"';
}

void render_server_families(Exposition& out, const StatusReport& report) {
    const ServerTotals& totals = report.totals;
    out.family("cgihost_info", "gauge", "The server's version (always 1).");
    out.sample("cgihost_info", label("version", report.version), 1);
    out.family("cgihost_uptime_seconds", "gauge", "Seconds since the server started.");
    out.sample("cgihost_uptime_seconds", "", report.uptime_seconds);
    out.family("cgihost_workers", "gauge", "Worker threads (event loops).");
    out.sample("cgihost_workers", "", report.workers);
    out.family("cgihost_connections_open", "gauge", "Client connections open now.");
    out.sample("cgihost_connections_open", "", static_cast<double>(totals.connections_open()));
    out.family("cgihost_responses_total", "counter", "Responses by status class.");
    for (size_t i = 0; i < kStatusClasses.size(); ++i) {
        out.sample("cgihost_responses_total", label("class", kStatusClasses[i]),
                   static_cast<double>(totals.responses[i]));
    }
    out.family("cgihost_received_bytes_total", "counter",
               "Bytes read from clients: request heads, bodies and their framing.");
    out.sample("cgihost_received_bytes_total", "", static_cast<double>(totals.bytes_received));
    out.family("cgihost_sent_body_bytes_total", "counter", "Response body bytes sent.");
    out.sample("cgihost_sent_body_bytes_total", "", static_cast<double>(totals.bytes_sent));
    out.family("cgihost_body_memory_bytes", "gauge", "Request bodies held in memory now.");
    out.sample("cgihost_body_memory_bytes", "", static_cast<double>(report.body_memory_bytes));
    out.family("cgihost_body_memory_limit_bytes", "gauge", "--max-body-memory.");
    out.sample("cgihost_body_memory_limit_bytes", "",
               static_cast<double>(report.body_memory_limit));
    out.family("cgihost_scripts_running", "gauge", "Scripts holding a slot now.");
    out.sample("cgihost_scripts_running", "", report.scripts_running);
    out.family("cgihost_scripts_queued", "gauge", "Requests waiting for a script slot now.");
    out.sample("cgihost_scripts_queued", "", static_cast<double>(report.scripts_queued));
    out.family("cgihost_script_spawns_total", "counter", "Script processes started.");
    out.sample("cgihost_script_spawns_total", "", static_cast<double>(totals.spawns));
    out.family("cgihost_script_failures_all_total", "counter",
               "Failed script requests, all scripts, by kind.");
    for (size_t i = 0; i < kScriptFailureKinds.size(); ++i) {
        out.sample("cgihost_script_failures_all_total",
                   label("kind", script_failure_name(kScriptFailureKinds[i])),
                   static_cast<double>(totals.failures[i]));
    }
}

void render_script_families(Exposition& out, const ScriptStatsMap& scripts) {
    out.family("cgihost_script_requests_total", "counter", "Requests per script.");
    for (const auto& [name, stats] : scripts)
        out.sample("cgihost_script_requests_total", label("script", name),
                   static_cast<double>(stats.requests));
    out.family("cgihost_script_failures_total", "counter", "Failed requests per script, by kind.");
    for (const auto& [name, stats] : scripts) {
        for (size_t i = 0; i < kScriptFailureKinds.size(); ++i) {
            out.sample("cgihost_script_failures_total",
                       label("script", name) + ',' +
                           label("kind", script_failure_name(kScriptFailureKinds[i])),
                       static_cast<double>(stats.failures[i]));
        }
    }
    out.family("cgihost_script_first_byte_seconds", "histogram",
               "Seconds from a script's spawn to its first byte of output.");
    for (const auto& [name, stats] : scripts)
        out.histogram("cgihost_script_first_byte_seconds", label("script", name), stats.first_byte);
    out.family("cgihost_script_duration_seconds", "histogram",
               "Seconds from a script's spawn until it was reaped.");
    for (const auto& [name, stats] : scripts)
        out.histogram("cgihost_script_duration_seconds", label("script", name), stats.total);
    out.family("cgihost_script_cpu_seconds_total", "counter",
               "CPU time (user + system) of the script processes, from wait4.");
    for (const auto& [name, stats] : scripts)
        out.sample("cgihost_script_cpu_seconds_total", label("script", name), stats.cpu_seconds);
    out.family("cgihost_script_peak_rss_bytes", "gauge",
               "The largest peak resident size of any of the script's processes.");
    for (const auto& [name, stats] : scripts)
        out.sample("cgihost_script_peak_rss_bytes", label("script", name),
                   static_cast<double>(stats.max_peak_rss_bytes));
    out.family("cgihost_script_sent_bytes_total", "counter", "Response body bytes per script.");
    for (const auto& [name, stats] : scripts)
        out.sample("cgihost_script_sent_bytes_total", label("script", name),
                   static_cast<double>(stats.bytes_sent));
}

// Appends `"key":` to a JSON object being written (a comma first unless it is the first).
class JsonObject {
  public:
    explicit JsonObject(std::string& out) : out_(out) { out_ += '{'; }
    void key(std::string_view name) {
        if (!first_) out_ += ',';
        first_ = false;
        out_ += json_string(name) + ':';
    }
    void number(std::string_view name, double value) {
        key(name);
        out_ += format_number(value);
    }
    void text(std::string_view name, std::string_view value) {
        key(name);
        out_ += json_string(value);
    }
    void close() { out_ += '}'; }

  private:
    std::string& out_;
    bool first_ = true;
};

void append_histogram_json(std::string& out, const DurationHistogram& histogram) {
    JsonObject object(out);
    object.number("count", static_cast<double>(histogram.count));
    object.number("sum", histogram.sum);
    object.key("buckets");  // cumulative, as in the exposition format
    out += '[';
    uint64_t cumulative = 0;
    for (size_t i = 0; i < histogram.buckets.size(); ++i) {
        cumulative += histogram.buckets[i];
        if (i > 0) out += ',';
        out += '[' +
               (i < kDurationBuckets.size() ? format_number(kDurationBuckets[i])
                                            : std::string("\"+Inf\"")) +
               ',' + std::to_string(cumulative) + ']';
    }
    out += ']';
    object.close();
}

void append_failures_json(std::string& out, const std::array<uint64_t, 5>& failures) {
    JsonObject object(out);
    for (size_t i = 0; i < kScriptFailureKinds.size(); ++i)
        object.number(script_failure_name(kScriptFailureKinds[i]),
                      static_cast<double>(failures[i]));
    object.close();
}

void append_scripts_json(std::string& out, const ScriptStatsMap& scripts) {
    out += '[';
    bool first = true;
    for (const auto& [name, stats] : scripts) {
        if (!first) out += ',';
        first = false;
        JsonObject script(out);
        script.text("name", name);
        script.number("requests", static_cast<double>(stats.requests));
        script.key("failures");
        append_failures_json(out, stats.failures);
        script.key("first_byte_seconds");
        append_histogram_json(out, stats.first_byte);
        script.key("duration_seconds");
        append_histogram_json(out, stats.total);
        script.number("cpu_seconds", stats.cpu_seconds);
        script.number("peak_rss_bytes", static_cast<double>(stats.max_peak_rss_bytes));
        script.number("bytes_sent", static_cast<double>(stats.bytes_sent));
        script.close();
    }
    out += ']';
}

void append_history_json(std::string& out, const std::vector<HistorySample>& history) {
    JsonObject object(out);
    object.number("interval_seconds", kHistoryIntervalSeconds);
    object.key("samples");
    out += '[';
    bool first = true;
    for (const HistorySample& sample : history) {
        if (!first) out += ',';
        first = false;
        JsonObject point(out);
        point.number("time", static_cast<double>(sample.time));
        point.number("requests_per_second", sample.requests_per_second);
        point.number("spawns_per_second", sample.spawns_per_second);
        point.key("script_mean_seconds");
        out += sample.script_mean_seconds < 0 ? "null" : format_number(sample.script_mean_seconds);
        point.close();
    }
    out += ']';
    object.close();
}

}  // namespace

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (size_t i = 0; i < value.size();) {
        const size_t length = utf8_sequence_length(value, i);
        if (length == 0) {
            out += '?';
            ++i;
            continue;
        }
        const char c = value[i];
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out.append(value.substr(i, length));
        }
        i += length;
    }
    return out;
}

std::string json_string(std::string_view value) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "\"";
    for (size_t i = 0; i < value.size();) {
        const size_t length = utf8_sequence_length(value, i);
        const auto byte = static_cast<unsigned char>(value[i]);
        if (length > 1) {
            out.append(value.substr(i, length));
            i += length;
            continue;
        }
        if (byte == '"' || byte == '\\') {
            out += '\\';
            out += static_cast<char>(byte);
        } else if (byte < 0x20 || byte >= 0x7F || byte == '<') {
            out += "\\u00";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xF];
        } else {
            out += static_cast<char>(byte);
        }
        ++i;
    }
    return out + '"';
}

std::string render_prometheus(const StatusReport& report) {
    Exposition out;
    render_server_families(out, report);
    render_script_families(out, report.scripts);
    return out.take();
}

std::string render_status_json(const StatusReport& report) {
    std::string out;
    const ServerTotals& totals = report.totals;
    JsonObject object(out);
    object.text("version", report.version);
    object.number("uptime_seconds", report.uptime_seconds);
    object.number("workers", report.workers);
    object.number("connections_open", static_cast<double>(totals.connections_open()));
    object.number("requests", static_cast<double>(totals.requests()));
    object.key("responses");
    JsonObject responses(out);
    for (size_t i = 0; i < kStatusClasses.size(); ++i)
        responses.number(kStatusClasses[i], static_cast<double>(totals.responses[i]));
    responses.close();
    object.number("bytes_received", static_cast<double>(totals.bytes_received));
    object.number("bytes_sent", static_cast<double>(totals.bytes_sent));
    object.number("body_memory_bytes", static_cast<double>(report.body_memory_bytes));
    object.number("body_memory_limit_bytes", static_cast<double>(report.body_memory_limit));
    object.number("scripts_running", report.scripts_running);
    object.number("scripts_queued", static_cast<double>(report.scripts_queued));
    object.number("spawns", static_cast<double>(totals.spawns));
    object.number("spawns_per_second",
                  report.history.empty() ? 0 : report.history.back().spawns_per_second);
    object.key("failures");
    append_failures_json(out, totals.failures);
    object.key("scripts");
    append_scripts_json(out, report.scripts);
    object.key("history");
    append_history_json(out, report.history);
    object.close();
    return out;
}

}  // namespace cgihost
