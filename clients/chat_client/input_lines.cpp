#include "chat_client/input_lines.hpp"

namespace cgihost::chat_client {

void InputLines::append(std::string_view bytes) {
    pending_.append(bytes);
}

std::optional<InputLine> InputLines::next(bool at_end) {
    for (;;) {
        size_t newline = pending_.find('\n');
        if (skipping_) {
            if (newline == std::string::npos) {
                pending_.clear();
                return std::nullopt;
            }
            pending_.erase(0, newline + 1);
            skipping_ = false;
            continue;
        }
        size_t length = newline == std::string::npos ? pending_.size() : newline;
        if (length > max_line_bytes_) {
            pending_.erase(0, newline == std::string::npos ? pending_.size() : newline + 1);
            skipping_ = newline == std::string::npos;
            return InputLine{{}, true};
        }
        if (newline == std::string::npos && !(at_end && !pending_.empty())) return std::nullopt;
        InputLine line{pending_.substr(0, length), false};
        pending_.erase(0, newline == std::string::npos ? pending_.size() : newline + 1);
        if (!line.text.empty() && line.text.back() == '\r') line.text.pop_back();
        return line;
    }
}

}  // namespace cgihost::chat_client
