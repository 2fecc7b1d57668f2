// The chat's room file (cgi-bin/chat.cpp): one line per message, "id TAB time TAB nick TAB
// text\n", with backslash, tab, CR and LF escaped as \\ \t \r \n so that a record is always one
// line, and the lines in id order. The functions read an open file through pread(2) and never
// hold more of it than they return, so a reader's cost follows what it asks for, not the
// room's size. They take no lock: the caller holds flock(2).
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace samples::chat {

struct Message {
    uint64_t id = 0;
    int64_t time = 0;
    std::string nick;
    std::string text;
};

// The record for `message`, its '\n' included.
std::string format_record(const Message& message);

// One line without its '\n'; nullopt for a line that is not a record (never written by us).
std::optional<Message> parse_record(std::string_view line);

// A whole decimal number, nothing before or after it.
template <typename Number>
std::optional<Number> parse_number(std::string_view text) {
    Number value{};
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

// The size of the open file. These throw std::system_error when the system refuses.
uint64_t file_size(int fd);

// Up to `size` bytes from `offset`; fewer at the end of the file.
std::string read_at(int fd, uint64_t offset, size_t size);

// Where the first line that starts at or after `offset` starts; `end` when none does before it.
uint64_t line_start_from(int fd, uint64_t offset, uint64_t end);

// Where the first record with an id above `since` starts among the first `end` bytes, or `end`
// when there is none: a binary search over byte offsets that reads O(log n) records. A line
// that is not a record is passed over; an unfinished last line (no '\n') counts as beyond.
uint64_t offset_after(int fd, uint64_t end, uint64_t since);

// The complete records in [offset, end), oldest first; moves `offset` past the last complete
// line, so an unfinished one is read again next time.
std::vector<Message> read_records(int fd, uint64_t& offset, uint64_t end);

// The newest complete record among the first `end` bytes, read backwards from there in
// growing windows; nullopt when there is none.
std::optional<Message> last_record(int fd, uint64_t end);

}  // namespace samples::chat
