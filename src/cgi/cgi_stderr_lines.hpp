// How a script's stderr becomes error-log lines (cgi-stderr-limit), with no pipe and no log:
// each complete line is one entry, cut to kMaxLineLength; once the logged bytes reach the
// limit, the caller logs one notice and nothing more of that script's stderr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cgihost {

// What one feed() or finish() yields for the error log.
struct CgiStderrBatch {
    std::vector<std::string> lines;  // without their '\n', in order
    // The last of `lines` reached the limit: log the "not logged" notice after them.
    bool limit_reached = false;
};

class CgiStderrLines {
  public:
    // Longer lines are cut here; what follows up to the '\n' is dropped.
    static constexpr size_t kMaxLineLength = 4096;

    // `limit`: bytes (each line with its '\n') logged before the rest is dropped; 0 logs none.
    explicit CgiStderrLines(uint64_t limit) : limit_(limit) {}

    // The lines `bytes` completes; a line still open waits for the next feed.
    CgiStderrBatch feed(std::string_view bytes);
    // The stream has ended: a last line without its '\n' counts as complete.
    CgiStderrBatch finish();
    uint64_t limit() const { return limit_; }

  private:
    uint64_t limit_;
    uint64_t logged_ = 0;
    std::string partial_;
};

}  // namespace cgihost
