// The error log (levelled, timestamped, written through) and the access log (Apache Combined
// Log Format, buffered and flushed by a background thread). Both are thread-safe and can be
// reopened on SIGHUP so logrotate can move the files away.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "util/unique_fd.hpp"

namespace cgihost {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

std::optional<LogLevel> parse_log_level(std::string_view name);

// One line of the access log, captured when a response is handed to the client.
struct AccessRecord {
    std::string remote_addr;
    std::string remote_user;   // "" → "-"
    int64_t time = 0;          // unix seconds
    std::string request_line;  // "GET /x HTTP/1.1"
    int status = 0;
    uint64_t body_bytes = 0;  // 0 → "-"
    std::string referer;
    std::string user_agent;
    // --access-log-format combined-cgi: two more fields, a script's CPU seconds (user +
    // system) and peak RSS in KiB, or "- -" for a response no script process made.
    struct ScriptUsage {
        double cpu_seconds = 0;
        uint64_t peak_rss_kib = 0;
    };
    bool usage_fields = false;
    std::optional<ScriptUsage> script_usage;
};

// %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i", with quotes, backslashes and
// control bytes escaped as Apache does so one request is always exactly one line; with
// usage_fields, then " <cpu seconds> <peak RSS KiB>" (or " - -"), which tools that read the
// Combined format's first nine fields ignore.
std::string format_combined_log_line(const AccessRecord& record);

// An append-only log destination. "-" is the given standard stream, "" discards everything.
class LogFile {
  public:
    LogFile(std::string path, int standard_fd);
    // Opens (or reopens) the file; returns an error message, or "" on success.
    std::string open();
    void write(std::string_view bytes);
    bool enabled() const { return !path_.empty(); }
    const std::string& path() const { return path_; }
    // Hands the open file to the user the server is about to become, so that it can still
    // write to it and SIGHUP can create its successor as that user. Returns "" or an error.
    std::string change_owner(uid_t uid, gid_t gid);

  private:
    std::string path_;
    int standard_fd_;
    std::mutex mutex_;
    UniqueFd fd_;
};

class Logger {
  public:
    Logger(std::string error_log_path, LogLevel level, std::string access_log_path);
    ~Logger();
    Logger(const Logger&) = delete;
    Logger& operator=(const Logger&) = delete;

    // Opens both files; returns an error message naming the path, or "".
    std::string open();
    // SIGHUP: flush, then reopen both paths.
    void reopen();
    // Both files to this owner (see LogFile::change_owner).
    std::string change_owner(uid_t uid, gid_t gid);
    // The error log's path and the access log's, as configured.
    std::vector<std::string> file_paths() const {
        return {error_file_.path(), access_file_.path()};
    }
    void flush();

    bool enabled(LogLevel level) const { return level >= level_.load(std::memory_order_relaxed); }
    // A reload's new --log-level; lines already being written keep theirs.
    void set_level(LogLevel level) { level_.store(level, std::memory_order_relaxed); }
    void log(LogLevel level, std::string_view message);
    void error(std::string_view message) { log(LogLevel::error, message); }
    void warn(std::string_view message) { log(LogLevel::warn, message); }
    void info(std::string_view message) { log(LogLevel::info, message); }
    void debug(std::string_view message) { log(LogLevel::debug, message); }

    void access(const AccessRecord& record);

  private:
    void run_flusher();
    void flush_locked(std::unique_lock<std::mutex>& lock);

    std::atomic<LogLevel> level_;
    LogFile error_file_;
    LogFile access_file_;
    std::mutex buffer_mutex_;
    std::condition_variable wake_;
    std::string access_buffer_;
    bool stopping_ = false;
    std::thread flusher_;
};

}  // namespace cgihost
