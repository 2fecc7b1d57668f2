// Reads a script's stderr pipe on the loop that owns the request and writes it to the error
// log line by line, tagged with the script and pid, up to cgi-stderr-limit (cgi_stderr_lines);
// the rest is read and dropped, so the script never blocks on a full pipe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "cgi/cgi_stderr_lines.hpp"
#include "server/log.hpp"
#include "util/event_ptr.hpp"
#include "util/unique_fd.hpp"

namespace cgihost {

class CgiStderrLogger {
  public:
    CgiStderrLogger(Logger& logger, uint64_t limit) : logger_(logger), lines_(limit) {}
    CgiStderrLogger(const CgiStderrLogger&) = delete;
    CgiStderrLogger& operator=(const CgiStderrLogger&) = delete;

    // Listens to `pipe` on `base`; every line is logged as "<tag> stderr: <line>". At the
    // pipe's end the last line is logged, the pipe closed, and then `on_end` called.
    void start(event_base* base, UniqueFd pipe, std::string tag, std::function<void()> on_end);
    // Closes the pipe without logging a line still open (a leftover descendant holds it).
    void stop();
    bool listening() const { return static_cast<bool>(pipe_); }

  private:
    static void on_readable(evutil_socket_t fd, short, void* self);
    void log(const CgiStderrBatch& batch);

    Logger& logger_;
    CgiStderrLines lines_;
    std::string tag_;
    std::function<void()> on_end_;
    UniqueFd pipe_;
    EventPtr event_;
};

}  // namespace cgihost
