// The user's typing (or a pipe) cut into lines, within a bound: a line longer than the limit
// is reported once as too long and skipped up to its newline, never buffered whole. Pure.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cgihost::chat_client {

struct InputLine {
    std::string text;       // without its LF or CRLF
    bool too_long = false;  // text is then empty: the line was dropped
};

class InputLines {
  public:
    explicit InputLines(size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

    void append(std::string_view bytes);
    // The next complete line; with `at_end` (the input is closed), the unterminated rest too.
    std::optional<InputLine> next(bool at_end = false);

  private:
    size_t max_line_bytes_;
    std::string pending_;
    bool skipping_ = false;  // inside a too-long line, already reported
};

}  // namespace cgihost::chat_client
