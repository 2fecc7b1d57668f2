#include "cgi/cgi_stderr_lines.hpp"

namespace cgihost {

// Past the limit lines are still split (and dropped), so memory stays at one cut line.
CgiStderrBatch CgiStderrLines::feed(std::string_view bytes) {
    CgiStderrBatch batch;
    for (char byte : bytes) {
        if (byte != '\n') {
            if (partial_.size() < kMaxLineLength) partial_ += byte;
            continue;
        }
        if (logged_ < limit_) {
            logged_ += partial_.size() + 1;
            batch.lines.push_back(partial_);
            batch.limit_reached = logged_ >= limit_;
        }
        partial_.clear();
    }
    return batch;
}

CgiStderrBatch CgiStderrLines::finish() {
    if (partial_.empty()) return {};
    return feed("\n");
}

}  // namespace cgihost
