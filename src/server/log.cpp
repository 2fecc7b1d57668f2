#include "server/log.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace cgihost {
namespace {

// Flush at least this often, and sooner once this much is waiting.
constexpr auto kAccessFlushInterval = std::chrono::milliseconds(200);
constexpr size_t kAccessFlushBytes = size_t{64} * 1024;

void append_escaped(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte == 0x7f) {
            out += "\\x";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xF];
        } else {
            out += c;
        }
    }
}

// Consecutive log lines nearly always share their second, and gmtime_r + strftime cost more
// than the rest of the line; so each thread keeps the last second it formatted.
std::string format_clf_time(int64_t unix_seconds) {
    thread_local int64_t cached_seconds = -1;
    thread_local std::string cached_text;
    if (unix_seconds != cached_seconds) {
        time_t t = unix_seconds;
        struct tm tm {};
        gmtime_r(&t, &tm);
        char buf[40];
        size_t n = strftime(buf, sizeof buf, "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
        cached_text.assign(buf, n);
        cached_seconds = unix_seconds;
    }
    return cached_text;
}

std::string format_error_time() {
    struct timespec now {};
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm {};
    gmtime_r(&now.tv_sec, &tm);
    char buf[48];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(buf + n, sizeof buf - n, ".%03ldZ", now.tv_nsec / 1000000);
    return std::string(buf, n);
}

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warn:
            return "warn";
        case LogLevel::error:
            return "error";
    }
    return "?";
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view name) {
    if (name == "debug") return LogLevel::debug;
    if (name == "info") return LogLevel::info;
    if (name == "warn") return LogLevel::warn;
    if (name == "error") return LogLevel::error;
    return std::nullopt;
}

std::string format_combined_log_line(const AccessRecord& r) {
    std::string line = r.remote_addr.empty() ? "-" : r.remote_addr;
    line += " - ";
    if (r.remote_user.empty()) {
        line += '-';
    } else {
        append_escaped(line, r.remote_user);
    }
    line += ' ';
    line += format_clf_time(r.time);
    line += " \"";
    append_escaped(line, r.request_line);
    line += "\" " + std::to_string(r.status) + ' ';
    line += r.body_bytes == 0 ? "-" : std::to_string(r.body_bytes);
    line += " \"";
    append_escaped(line, r.referer.empty() ? "-" : r.referer);
    line += "\" \"";
    append_escaped(line, r.user_agent.empty() ? "-" : r.user_agent);
    line += '"';
    if (r.usage_fields) {
        if (r.script_usage) {
            char usage[64];
            (void)snprintf(usage, sizeof usage, " %.3f %llu", r.script_usage->cpu_seconds,
                           static_cast<unsigned long long>(r.script_usage->peak_rss_kib));
            line += usage;
        } else {
            line += " - -";
        }
    }
    line += '\n';
    return line;
}

LogFile::LogFile(std::string path, int standard_fd)
    : path_(std::move(path)), standard_fd_(standard_fd) {}

std::string LogFile::open() {
    if (path_.empty() || path_ == "-") return {};
    // 0640: scripts, which run as another user, have no business reading the logs either.
    int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return "cannot open log file '" + path_ + "': " + std::strerror(errno);
    std::lock_guard lock(mutex_);
    fd_.reset(fd);
    return {};
}

std::string LogFile::change_owner(uid_t uid, gid_t gid) {
    std::lock_guard lock(mutex_);
    if (!fd_ || ::fchown(fd_.get(), uid, gid) == 0) return {};
    return "cannot hand log file '" + path_ + "' to uid " + std::to_string(uid) + ": " +
           std::strerror(errno);
}

void LogFile::write(std::string_view bytes) {
    if (path_.empty()) return;
    std::lock_guard lock(mutex_);
    int fd = path_ == "-" ? standard_fd_ : fd_.get();
    while (!bytes.empty() && fd >= 0) {
        ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // a full disk must not stop the server; the line is lost
        bytes.remove_prefix(static_cast<size_t>(n));
    }
}

Logger::Logger(std::string error_log_path, LogLevel level, std::string access_log_path)
    : level_(level),
      error_file_(std::move(error_log_path), STDERR_FILENO),
      access_file_(std::move(access_log_path), STDOUT_FILENO),
      flusher_([this] { run_flusher(); }) {}

Logger::~Logger() {
    {
        std::lock_guard lock(buffer_mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    flusher_.join();
}

std::string Logger::open() {
    if (auto error = error_file_.open(); !error.empty()) return error;
    return access_file_.open();
}

void Logger::reopen() {
    flush();
    if (auto error = open(); !error.empty()) this->error("reopening logs: " + error);
}

std::string Logger::change_owner(uid_t uid, gid_t gid) {
    if (auto error = error_file_.change_owner(uid, gid); !error.empty()) return error;
    return access_file_.change_owner(uid, gid);
}

void Logger::flush() {
    std::unique_lock lock(buffer_mutex_);
    flush_locked(lock);
}

void Logger::flush_locked(std::unique_lock<std::mutex>& lock) {
    std::string pending;
    pending.swap(access_buffer_);
    lock.unlock();
    access_file_.write(pending);
    lock.lock();
}

void Logger::log(LogLevel level, std::string_view message) {
    if (!enabled(level) || !error_file_.enabled()) return;
    std::string line = format_error_time();
    line += " [";
    line += level_name(level);
    line += "] ";
    line += message;
    line += '\n';
    error_file_.write(line);
}

void Logger::access(const AccessRecord& record) {
    if (!access_file_.enabled()) return;
    std::string line = format_combined_log_line(record);
    std::lock_guard lock(buffer_mutex_);
    access_buffer_ += line;
    if (access_buffer_.size() >= kAccessFlushBytes) wake_.notify_one();
}

void Logger::run_flusher() {
    std::unique_lock lock(buffer_mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, kAccessFlushInterval);
        flush_locked(lock);
    }
    flush_locked(lock);
}

}  // namespace cgihost
