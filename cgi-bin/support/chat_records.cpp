#include "chat_records.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace samples::chat {
namespace {

std::string escape_field(std::string_view text) {
    std::string escaped;
    for (char c : text) {
        switch (c) {
            case '\\':
                escaped += "\\\\";
                break;
            case '\t':
                escaped += "\\t";
                break;
            case '\n':
                escaped += "\\n";
                break;
            case '\r':
                escaped += "\\r";
                break;
            default:
                escaped += c;
        }
    }
    return escaped;
}

std::string unescape_field(std::string_view text) {
    std::string plain;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 == text.size()) {
            plain += text[i];
            continue;
        }
        char next = text[++i];
        plain += next == 't' ? '\t' : next == 'n' ? '\n' : next == 'r' ? '\r' : next;
    }
    return plain;
}

constexpr size_t kProbeBytes = 512;  // what one step of the search reads at a time

struct Line {
    std::string text;   // without its '\n'
    uint64_t next = 0;  // where the line after it starts
};

// The line that starts at `offset`; nullopt when it has no '\n' before `end` (a record still
// being written, or nothing at all).
std::optional<Line> line_at(int fd, uint64_t offset, uint64_t end) {
    Line line;
    for (uint64_t at = offset; at < end;) {
        std::string chunk = read_at(fd, at, std::min<uint64_t>(kProbeBytes, end - at));
        if (chunk.empty()) break;
        if (size_t newline = chunk.find('\n'); newline != std::string::npos) {
            line.text.append(chunk, 0, newline);
            line.next = at + newline + 1;
            return line;
        }
        line.text += chunk;
        at += chunk.size();
    }
    return std::nullopt;
}

}  // namespace

std::string format_record(const Message& message) {
    return std::to_string(message.id) + '\t' + std::to_string(message.time) + '\t' +
           escape_field(message.nick) + '\t' + escape_field(message.text) + '\n';
}

std::optional<Message> parse_record(std::string_view line) {
    std::string_view fields[4];
    for (int i = 0; i < 3; ++i) {
        size_t tab = line.find('\t');
        if (tab == std::string_view::npos) return std::nullopt;
        fields[i] = line.substr(0, tab);
        line.remove_prefix(tab + 1);
    }
    fields[3] = line;
    auto id = parse_number<uint64_t>(fields[0]);
    auto time = parse_number<int64_t>(fields[1]);
    if (!id || !time) return std::nullopt;
    return Message{*id, *time, unescape_field(fields[2]), unescape_field(fields[3])};
}

uint64_t file_size(int fd) {
    struct stat info {};
    if (::fstat(fd, &info) != 0) throw std::system_error(errno, std::generic_category(), "fstat");
    return static_cast<uint64_t>(info.st_size);
}

std::string read_at(int fd, uint64_t offset, size_t size) {
    std::string data(size, '\0');
    size_t got = 0;
    while (got < size) {
        ssize_t n = ::pread(fd, data.data() + got, size - got, static_cast<off_t>(offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::system_error(errno, std::generic_category(), "read messages");
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    data.resize(got);
    return data;
}

uint64_t line_start_from(int fd, uint64_t offset, uint64_t end) {
    if (offset == 0) return 0;
    for (uint64_t at = offset - 1; at < end;) {
        std::string chunk = read_at(fd, at, std::min<uint64_t>(kProbeBytes, end - at));
        if (chunk.empty()) break;
        if (size_t newline = chunk.find('\n'); newline != std::string::npos) {
            return at + newline + 1;
        }
        at += chunk.size();
    }
    return end;
}

uint64_t offset_after(int fd, uint64_t end, uint64_t since) {
    // Every record that starts before `low` has an id of at most `since`, and every one that
    // starts at or after `high` a larger one.
    uint64_t low = 0;
    uint64_t high = end;
    while (low < high) {
        uint64_t middle = low + (high - low) / 2;
        uint64_t start = line_start_from(fd, middle, high);
        if (start >= high) {  // no record starts in [middle, high)
            high = middle;
            continue;
        }
        std::optional<Line> line = line_at(fd, start, end);
        std::optional<Message> record = line ? parse_record(line->text) : std::nullopt;
        if (!line || (record && record->id > since)) {
            high = start;
        } else {
            low = line->next;  // a line that is not a record (never written by us) is passed over
        }
    }
    return low;
}

std::vector<Message> read_records(int fd, uint64_t& offset, uint64_t end) {
    std::vector<Message> messages;
    if (offset >= end) return messages;
    std::string data = read_at(fd, offset, end - offset);
    std::string_view rest(data);
    for (size_t newline; (newline = rest.find('\n')) != std::string_view::npos;) {
        if (auto message = parse_record(rest.substr(0, newline))) {
            messages.push_back(std::move(*message));
        }
        rest.remove_prefix(newline + 1);
        offset += newline + 1;
    }
    return messages;
}

std::optional<Message> last_record(int fd, uint64_t end) {
    for (uint64_t window = kProbeBytes;; window *= 4) {
        uint64_t from = end > window ? end - window : 0;
        uint64_t start = line_start_from(fd, from, end);
        std::vector<Message> messages = read_records(fd, start, end);
        if (!messages.empty()) return std::move(messages.back());
        if (from == 0) return std::nullopt;
    }
}

}  // namespace samples::chat
