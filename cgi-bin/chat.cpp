// chat: the classic "talking room", done the CGI way: every request is a new process, so the
// room lives in a file, <data>/chat/messages, and the processes agree through flock(2).
//
//   GET  chat               the room as an HTML page with a form to post (works without JS)
//   GET  chat?since=N       JSON {"messages":[...],"last_id":M} with the messages after id N;
//                           when there are none yet it waits (long polling) until one arrives
//                           or CGIHOST_CHAT_WAIT seconds (default 25) pass
//   POST chat               nick + message (form-urlencoded) appends a message, then
//                           303 back to the room, or {"ok":true,"id":N} for Accept: JSON
//
// Shows:
//   - appending under flock(LOCK_EX) with the whole record in one write(2) to an O_APPEND
//     file, so twenty posters at once neither lose nor interleave messages, and ids (the last
//     id + 1, read under the same lock) stay unique and increasing; readers take LOCK_SH;
//   - waiting without burning CPU: inotify on the chat directory wakes the long poll as soon
//     as a writer touches the file (it polls every 150 ms where inotify is missing). The wait
//     must stay below the server's cgi-timeout, which counts a silent script as hung;
//   - one store, two escapings: HTML for the page and JSON strings for the API. The file
//     itself holds one line per message: id TAB time TAB nick TAB text, with backslash, tab,
//     CR and LF escaped as \\ \t \r \n, so a record is always exactly one line.
#include <cgicc/Cgicc.h>
#include <cgicc/HTTPContentHeader.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "data_files.hpp"
#include "encoding.hpp"
#include "html.hpp"
#include "request.hpp"

namespace {

constexpr size_t kMaxNickCharacters = 32;
constexpr size_t kMaxMessageCharacters = 2000;
constexpr double kDefaultWaitSeconds = 25;      // CGIHOST_CHAT_WAIT overrides
constexpr double kMaxWaitSeconds = 300;         // the server's default cgi-max-time
constexpr int kPollFallbackMilliseconds = 150;  // without inotify, look this often
// Readers look at most this far back: a request's cost stays bounded however long the room
// grows, and the tail still holds hundreds of the largest messages. Appends need only the last
// record (under 10 KiB even escaped) to learn the next id.
constexpr size_t kReadTailBytes = 1024 * 1024;
constexpr size_t kIdTailBytes = 64 * 1024;
constexpr size_t kPageMessages = 100;  // the HTML room shows the newest ones

using samples::RequestError;

struct Message {
    uint64_t id = 0;
    int64_t time = 0;
    std::string nick;
    std::string text;
};

// ---- The record format ----------------------------------------------------------------------

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

std::string format_record(const Message& message) {
    return std::to_string(message.id) + '\t' + std::to_string(message.time) + '\t' +
           escape_field(message.nick) + '\t' + escape_field(message.text) + '\n';
}

template <typename Number>
std::optional<Number> parse_number(std::string_view text) {
    Number value{};
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

// One line without its '\n'; nullopt for a line that is not a record (never written by us).
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

// The complete records among the last `tail_bytes` of the file, oldest first.
std::vector<Message> read_tail(int fd, size_t tail_bytes) {
    struct stat info {};
    if (::fstat(fd, &info) != 0) throw std::system_error(errno, std::generic_category(), "fstat");
    auto size = static_cast<uint64_t>(info.st_size);
    uint64_t start = size > tail_bytes ? size - tail_bytes : 0;
    std::string data(size - start, '\0');
    size_t got = 0;
    while (got < data.size()) {
        ssize_t n =
            ::pread(fd, data.data() + got, data.size() - got, static_cast<off_t>(start + got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<size_t>(n);
    }
    std::string_view rest(data.data(), got);
    if (start > 0) rest.remove_prefix(std::min(rest.size(), rest.find('\n') + 1));  // partial
    std::vector<Message> messages;
    for (size_t newline; (newline = rest.find('\n')) != std::string_view::npos;) {
        if (auto message = parse_record(rest.substr(0, newline))) {
            messages.push_back(std::move(*message));
        }
        rest.remove_prefix(newline + 1);
    }
    return messages;
}

// ---- The room file --------------------------------------------------------------------------

std::filesystem::path chat_directory() {
    return samples::data_subdirectory("chat");
}

// Holds flock(2) on the open room file until destroyed (closing the file releases it).
class LockedRoom {
  public:
    LockedRoom(const std::filesystem::path& directory, int open_flags, int lock) {
        fd_.reset(::open((directory / "messages").c_str(), open_flags | O_CLOEXEC, 0644));
        if (!fd_ && errno == ENOENT) return;  // no message yet: an empty room for readers
        if (!fd_) throw std::system_error(errno, std::generic_category(), "open messages");
        while (::flock(fd_.get(), lock) != 0) {
            if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "flock");
        }
    }
    int fd() const { return fd_.get(); }
    bool exists() const { return static_cast<bool>(fd_); }

  private:
    samples::FileDescriptor fd_;
};

uint64_t append_message(Message message) {
    LockedRoom room(chat_directory(), O_RDWR | O_APPEND | O_CREAT, LOCK_EX);
    std::vector<Message> last = read_tail(room.fd(), kIdTailBytes);
    message.id = last.empty() ? 1 : last.back().id + 1;
    message.time = static_cast<int64_t>(std::time(nullptr));
    std::string record = format_record(message);
    struct stat before {};
    if (::fstat(room.fd(), &before) != 0) {
        throw std::system_error(errno, std::generic_category(), "fstat messages");
    }
    // One write(2) of the whole record; a short one (a full disk) is cut back off, so the
    // file never holds half a line for the next reader or writer to trip over.
    if (!samples::write_all(room.fd(), record)) {
        int error = errno;
        if (::ftruncate(room.fd(), before.st_size) != 0) {
            std::cerr << "chat: cannot remove a partial record; readers will skip it\n";
        }
        throw std::system_error(error, std::generic_category(), "append to messages");
    }
    return message.id;
}

struct Snapshot {
    std::vector<Message> messages;  // after `since`
    uint64_t last_id = 0;           // the newest id in the room, 0 when empty
};

Snapshot read_room(uint64_t since) {
    LockedRoom room(chat_directory(), O_RDONLY, LOCK_SH);
    Snapshot snapshot;
    if (!room.exists()) return snapshot;
    std::vector<Message> messages = read_tail(room.fd(), kReadTailBytes);
    if (!messages.empty()) snapshot.last_id = messages.back().id;
    for (Message& message : messages) {
        if (message.id > since) snapshot.messages.push_back(std::move(message));
    }
    return snapshot;
}

// ---- Waiting --------------------------------------------------------------------------------

double wait_seconds() {
    const char* text = std::getenv("CGIHOST_CHAT_WAIT");
    if (text == nullptr || *text == '\0') return kDefaultWaitSeconds;
    char* end = nullptr;
    double seconds = std::strtod(text, &end);
    if (*end != '\0' || !(seconds >= 0)) return kDefaultWaitSeconds;
    return std::min(seconds, kMaxWaitSeconds);
}

// Empties the inotify queue: which file changed does not matter, each wake-up re-reads the room.
void discard_events(int watch) {
    char events[4096];
    while (::read(watch, events, sizeof events) > 0) {
    }
}

// The messages after `since`, waiting for the first one when there is none yet. The watch is
// set before the first read, so a message written between the read and the wait still wakes
// us. A `since` beyond the newest id (the room was reset) answers at once: the client learns
// the real last id instead of waiting for ids that may never come.
Snapshot wait_for_messages(uint64_t since) {
    std::filesystem::path directory = chat_directory();
    samples::FileDescriptor watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (watch && ::inotify_add_watch(watch.get(), directory.c_str(),
                                     IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
        watch.reset();
    }
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_seconds());
    for (;;) {
        Snapshot snapshot = read_room(since);
        if (!snapshot.messages.empty() || snapshot.last_id < since) return snapshot;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return snapshot;
        int timeout = watch ? static_cast<int>(left.count())
                            : std::min<int>(kPollFallbackMilliseconds, left.count());
        pollfd ready{watch ? watch.get() : -1, POLLIN, 0};
        if (::poll(&ready, 1, timeout) > 0) discard_events(watch.get());
    }
}

// ---- Requests -------------------------------------------------------------------------------

bool wants_json() {
    const char* accept = std::getenv("HTTP_ACCEPT");
    return accept != nullptr && std::strstr(accept, "application/json") != nullptr;
}

std::string message_json(const Message& message) {
    return "{\"id\":" + std::to_string(message.id) + ",\"time\":" + std::to_string(message.time) +
           ",\"nick\":" + samples::json_string(message.nick) +
           ",\"text\":" + samples::json_string(message.text) + "}";
}

void send_json(int status, const std::string& reason, const std::string& body,
               const samples::HeaderFields& headers = {}) {
    std::cout << "Status: " << status << ' ' << reason << "\n";
    for (const auto& [name, value] : headers) {
        std::cout << name << ": " << value << "\n";
    }
    std::cout << "Content-Type: application/json\n"
              << "Cache-Control: no-store\n"
              << "Content-Length: " << body.size() << "\n\n"
              << body << std::flush;
}

void send_messages(uint64_t since) {
    Snapshot snapshot = wait_for_messages(since);
    std::string body = "{\"messages\":[";
    for (size_t i = 0; i < snapshot.messages.size(); ++i) {
        body += (i == 0 ? "" : ",") + message_json(snapshot.messages[i]);
    }
    body += "],\"last_id\":" + std::to_string(snapshot.last_id) + "}\n";
    send_json(200, "OK", body);
}

std::string format_time(int64_t seconds) {
    auto time = static_cast<std::time_t>(seconds);
    std::tm utc{};
    char text[32];
    if (::gmtime_r(&time, &utc) == nullptr ||
        std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &utc) == 0) {
        return "?";
    }
    return text;
}

// Escaped, with the message's own line breaks kept as <br>.
std::string text_as_html(std::string_view text) {
    std::string html;
    for (size_t newline; (newline = text.find('\n')) != std::string_view::npos;) {
        html += samples::escape_html(text.substr(0, newline)) + "<br>";
        text.remove_prefix(newline + 1);
    }
    return html + samples::escape_html(text);
}

void send_room_page() {
    Snapshot snapshot = read_room(0);
    size_t skip =
        snapshot.messages.size() > kPageMessages ? snapshot.messages.size() - kPageMessages : 0;
    std::cout << "Cache-Control: no-store\n" << cgicc::HTTPContentHeader(samples::kHtmlContentType);
    samples::page_start("Chat room");
    std::cout << "<p>Every message is a POST to this program, which appends it to a file. "
                 "<a href=\"/chat.html\">The live room</a> shows new ones as they arrive; this "
                 "page shows them when you <a href=\"chat\">reload it</a>.</p>\n"
                 "<ol class=\"messages\">\n";
    for (size_t i = skip; i < snapshot.messages.size(); ++i) {
        const Message& message = snapshot.messages[i];
        std::cout << "<li id=\"m" << message.id << "\"><time>" << format_time(message.time)
                  << "</time> <b class=\"nick\">" << samples::escape_html(message.nick)
                  << "</b>: <span class=\"text\">" << text_as_html(message.text)
                  << "</span></li>\n";
    }
    if (snapshot.messages.empty()) std::cout << "<li>No messages yet: say hello.</li>\n";
    std::cout << "</ol>\n"
                 "<form method=\"post\" action=\"chat\">\n"
                 "<p><label>Nick <input name=\"nick\" required maxlength=\"32\"></label></p>\n"
                 "<p><label>Message <textarea name=\"message\" required maxlength=\"2000\" "
                 "rows=\"3\"></textarea></label></p>\n"
                 "<p><button type=\"submit\">Send</button></p>\n"
                 "</form>\n";
    samples::page_end();
}

std::string form_value(const cgicc::Cgicc& form, const std::string& name) {
    auto entry = form.getElement(name);
    return entry == form.getElements().end() ? "" : entry->getValue();
}

std::string_view trim_whitespace(std::string_view text) {
    constexpr std::string_view kWhitespace = " \t\r\n";
    size_t first = text.find_first_not_of(kWhitespace);
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(kWhitespace) - first + 1);
}

bool has_control_other_than(std::string_view text, std::string_view allowed) {
    return std::any_of(text.begin(), text.end(), [&](char c) {
        bool control = static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
        return control && allowed.find(c) == std::string_view::npos;
    });
}

// A nick of 1-32 characters on one line, and a message of 1-2000 characters that may span
// lines. Browsers send a textarea's line breaks as CR LF; they are stored as LF.
Message validated_message(const cgicc::Cgicc& form) {
    Message message;
    message.nick = std::string(trim_whitespace(form_value(form, "nick")));
    std::string text = form_value(form, "message");
    for (size_t crlf; (crlf = text.find("\r\n")) != std::string::npos;) {
        text.erase(crlf, 1);
    }
    message.text = std::string(trim_whitespace(text));
    auto length_ok = [](std::string_view value, size_t most) {
        size_t characters = samples::count_code_points(value);
        return characters >= 1 && characters <= most;
    };
    if (!samples::is_valid_utf8(message.nick) || !samples::is_valid_utf8(message.text)) {
        throw RequestError(400, "Bad Request", "The nick and the message must be UTF-8 text.");
    }
    if (!length_ok(message.nick, kMaxNickCharacters) || has_control_other_than(message.nick, "")) {
        throw RequestError(400, "Bad Request", "The nick must be 1 to 32 characters on one line.");
    }
    if (!length_ok(message.text, kMaxMessageCharacters) ||
        has_control_other_than(message.text, "\t\n")) {
        throw RequestError(400, "Bad Request", "The message must be 1 to 2000 characters.");
    }
    return message;
}

void post_message() {
    cgicc::Cgicc form = samples::read_form();
    uint64_t id = append_message(validated_message(form));
    if (wants_json()) {
        return send_json(200, "OK", "{\"ok\":true,\"id\":" + std::to_string(id) + "}\n");
    }
    // 303: the browser shows the room with a GET, and reloading it does not post again.
    const char* script = std::getenv("SCRIPT_NAME");
    std::string room = script != nullptr && *script == '/' ? script : "/cgi-bin/chat";
    std::cout << "Status: 303 See Other\n"
              << "Location: " << samples::absolute_url(form.getEnvironment(), room) << "\n"
              << "Content-Type: text/plain; charset=utf-8\n\n"
              << "Posted as message " << id << ".\n";
}

void handle_request() {
    samples::require_method({"GET", "HEAD", "POST"});
    if (std::strcmp(std::getenv("REQUEST_METHOD"), "POST") == 0) return post_message();
    cgicc::Cgicc form;
    auto since = form.getElement("since");
    if (since == form.getElements().end()) return send_room_page();
    auto after = parse_number<uint64_t>(since->getValue());
    if (!after) throw RequestError(400, "Bad Request", "since must be a message id (0 or more).");
    send_messages(*after);
}

}  // namespace

int main() {
    try {
        handle_request();
    } catch (const RequestError& error) {
        if (wants_json()) {
            send_json(error.status(), error.title(),
                      "{\"ok\":false,\"error\":" + samples::json_string(error.what()) + "}\n",
                      error.headers());
        } else {
            samples::send_error_page(error);
        }
    } catch (const std::exception& error) {
        std::cerr << "chat: " << error.what() << '\n';
        samples::send_error_page(500, "Internal Server Error", "The chat room is unavailable.");
    }
}
