// chat: the classic "talking room", done the CGI way: every request is a new process, so the
// room lives in a file, <data>/chat/messages, and the processes agree through flock(2) on
// <data>/chat/lock.
//
//   GET  chat               the room as an HTML page with a form to post (works without JS)
//   GET  chat?since=N       JSON {"messages":[...],"last_id":M} with the messages after id N
//                           (the newest 1 MiB of them, and "truncated":true, if more);
//                           when there are none yet it waits (long polling) until one arrives
//                           or CGIHOST_CHAT_WAIT seconds (default 25) pass
//   POST chat               nick + message (form-urlencoded) appends a message, then
//                           303 back to the room, or {"ok":true,"id":N} for Accept: JSON;
//                           403 when its Origin (or Referer) names another site
//
// Shows:
//   - appending under flock(LOCK_EX) with the whole record in one write(2) to an O_APPEND
//     file, so twenty posters at once neither lose nor interleave messages, and ids (the last
//     id + 1, read under the same lock) stay unique and increasing; readers take LOCK_SH;
//   - a bounded room: once the file passes CGIHOST_CHAT_MAX_BYTES (256 KiB), the post that
//     passed it rewrites it with the newest records (half the bound) under the same lock,
//     temporary file + rename, so readers see one whole file or the other and ids go on;
//   - reading only what is new: a reader finds the records after since=N by binary search
//     on the id-ordered lines, and while it waits reads only the bytes appended since it last
//     looked (a rotation, seen as a new inode under the name, makes it search again);
//   - waiting without burning CPU: inotify on the chat directory wakes the long poll as soon
//     as a writer touches the file; without inotify (none left for the user, or
//     CGIHOST_CHAT_INOTIFY=0) it looks after 150 ms, then ever less often, up to every 4.8 s.
//     The wait must stay below the server's cgi-timeout, which counts a silent script as hung;
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

#include "chat_records.hpp"
#include "data_files.hpp"
#include "encoding.hpp"
#include "html.hpp"
#include "poll_backoff.hpp"
#include "request.hpp"
#include "same_origin.hpp"

namespace {

constexpr size_t kMaxNickCharacters = 32;
constexpr size_t kMaxMessageCharacters = 2000;
constexpr double kDefaultWaitSeconds = 25;  // CGIHOST_CHAT_WAIT overrides
constexpr double kMaxWaitSeconds = 300;     // the server's default cgi-max-time
// The room keeps its newest messages within this many bytes of records (CGIHOST_CHAT_MAX_BYTES
// overrides): 60 messages of 4 KB or thousands of short ones, and what a reader with since=0
// reads at most.
constexpr double kDefaultRoomBytes = 256 * 1024;
constexpr double kLeastRoomBytes = 1024;
constexpr double kMostRoomBytes = 64 * 1024 * 1024;
constexpr size_t kPageMessages = 100;  // the HTML room shows the newest ones
// A JSON answer holds the newest messages that fit in this (at least one), however large the
// room may be configured: a client joining a 64 MiB room gets its last MiB, "truncated":true.
constexpr size_t kMaxAnswerBytes = 1024 * 1024;

using samples::RequestError;
using namespace samples::chat;  // the room file's records: Message, format_record, ...

// ---- The room file --------------------------------------------------------------------------

std::filesystem::path chat_directory() {
    return samples::data_subdirectory("chat");
}

uint64_t room_bytes() {
    return static_cast<uint64_t>(samples::env_setting("CGIHOST_CHAT_MAX_BYTES", kDefaultRoomBytes,
                                                      kLeastRoomBytes, kMostRoomBytes));
}

// Holds flock(2) on <chat>/lock until destroyed. The lock is not taken on the messages file
// itself because rotation puts a new file under that name: a writer that had waited for the
// old file's lock would append to a file nobody reads any more. The lock file never changes,
// and being opened read-only it never wakes the long polls that watch the directory.
class RoomLock {
  public:
    RoomLock(const std::filesystem::path& directory, int lock) {
        fd_.reset(::open((directory / "lock").c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644));
        if (!fd_) throw std::system_error(errno, std::generic_category(), "open chat lock");
        while (::flock(fd_.get(), lock) != 0) {
            if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "flock");
        }
    }

  private:
    samples::FileDescriptor fd_;
};

// Keeps the newest records that fit in half the bound (at least the newest one, so ids go on
// from it): they are written to a new file that is renamed over the old one while the
// exclusive lock is held, so a reader sees the whole old room or the whole new one. Half, so
// that a room at its bound is rewritten once every bound/2 bytes of posts, not at every post.
void rotate_room(const std::filesystem::path& path, int fd, uint64_t end, uint64_t newest_id) {
    uint64_t keep = room_bytes() / 2;
    uint64_t start = line_start_from(fd, end > keep ? end - keep : 0, end);
    if (start >= end) start = offset_after(fd, end, newest_id - 1);
    samples::replace_file(path, read_at(fd, start, end - start));
}

// A record cut short by an earlier failed append whose clean-up failed too would have the next
// record glued onto it, and its id handed out again: cut it off first. Returns the new size.
uint64_t drop_partial_record(int fd, uint64_t size) {
    uint64_t end = size;
    char buffer[4096];
    while (end > 0) {
        size_t length = static_cast<size_t>(std::min<uint64_t>(sizeof buffer, end));
        ssize_t got = ::pread(fd, buffer, length, static_cast<off_t>(end - length));
        if (got != static_cast<ssize_t>(length)) {
            throw std::system_error(errno, std::generic_category(), "read messages");
        }
        for (size_t i = length; i-- > 0;) {
            if (buffer[i] != '\n') continue;
            uint64_t whole = end - length + i + 1;
            if (whole != size && ::ftruncate(fd, static_cast<off_t>(whole)) != 0) {
                throw std::system_error(errno, std::generic_category(), "truncate messages");
            }
            return whole;
        }
        end -= length;
    }
    if (size > 0 && ::ftruncate(fd, 0) != 0) {
        throw std::system_error(errno, std::generic_category(), "truncate messages");
    }
    return 0;
}

uint64_t append_message(Message message) {
    std::filesystem::path directory = chat_directory();
    RoomLock lock(directory, LOCK_EX);
    std::filesystem::path path = directory / "messages";
    samples::FileDescriptor room(
        ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
    if (!room) throw std::system_error(errno, std::generic_category(), "open messages");
    uint64_t before = drop_partial_record(room.get(), file_size(room.get()));
    std::optional<Message> last = last_record(room.get(), before);
    message.id = last ? last->id + 1 : 1;
    message.time = static_cast<int64_t>(std::time(nullptr));
    std::string record = format_record(message);
    // One write(2) of the whole record; a short one (a full disk) is cut back off, so the
    // file never holds half a line for the next reader or writer to trip over.
    if (!samples::write_all(room.get(), record)) {
        int error = errno;
        if (::ftruncate(room.get(), static_cast<off_t>(before)) != 0) {
            std::cerr << "chat: cannot remove a partial record; readers will skip it\n";
        }
        throw std::system_error(error, std::generic_category(), "append to messages");
    }
    if (before + record.size() > room_bytes()) {
        try {
            rotate_room(path, room.get(), before + record.size(), message.id);
        } catch (const std::exception& error) {  // the message is stored: say so all the same
            std::cerr << "chat: cannot rotate the room, it stays longer for now: " << error.what()
                      << '\n';
        }
    }
    return message.id;
}

struct Snapshot {
    std::vector<Message> messages;  // after `since`
    uint64_t last_id = 0;           // the newest id in the room, 0 when empty
};

// Follows the room for one request. It remembers the file it read and where it stopped, so
// each look reads only the records appended since the last one; when the name points at
// another file (a rotation), it opens that one and searches again for its place.
class RoomReader {
  public:
    explicit RoomReader(uint64_t since) : since_(since) {}

    // The messages after `since` not returned before, and the newest id, under LOCK_SH.
    Snapshot look() {
        RoomLock lock(directory_, LOCK_SH);
        if ((!file_ || replaced()) && !reopen()) return Snapshot{};
        uint64_t end = file_size(file_.get());
        if (end < offset_) find_place(end);  // cut back under our feet: search again
        Snapshot snapshot{read_records(file_.get(), offset_, end), last_id_};
        if (!snapshot.messages.empty()) {
            last_id_ = snapshot.last_id = snapshot.messages.back().id;
            since_ = last_id_;
        }
        return snapshot;
    }

  private:
    bool replaced() const {
        struct stat named {};
        struct stat open {};
        if (::stat((directory_ / "messages").c_str(), &named) != 0) return true;
        return ::fstat(file_.get(), &open) != 0 || named.st_ino != open.st_ino ||
               named.st_dev != open.st_dev;
    }

    // False when there is no room file yet (no message was ever posted).
    bool reopen() {
        file_.reset(::open((directory_ / "messages").c_str(), O_RDONLY | O_CLOEXEC));
        if (!file_ && errno == ENOENT) return false;
        if (!file_) throw std::system_error(errno, std::generic_category(), "open messages");
        find_place(file_size(file_.get()));
        return true;
    }

    void find_place(uint64_t end) {
        std::optional<Message> last = last_record(file_.get(), end);
        last_id_ = last ? last->id : 0;
        offset_ = offset_after(file_.get(), end, since_);
    }

    std::filesystem::path directory_ = chat_directory();
    samples::FileDescriptor file_;
    uint64_t since_;       // the newest id the client has (or was given)
    uint64_t offset_ = 0;  // where the first record after since_ starts in file_
    uint64_t last_id_ = 0;
};

// ---- Waiting --------------------------------------------------------------------------------

double wait_seconds() {
    return samples::env_setting("CGIHOST_CHAT_WAIT", kDefaultWaitSeconds, 0, kMaxWaitSeconds);
}

// Empties the inotify queue: which file changed does not matter, each wake-up looks again.
void discard_events(int watch) {
    char events[4096];
    while (::read(watch, events, sizeof events) > 0) {
    }
}

// An inotify watch on the chat directory, or none: CGIHOST_CHAT_INOTIFY=0 turns it off (for
// file systems where it never fires, such as NFS written from another machine), and
// inotify_init fails once the scripts' user has max_user_instances of them (EMFILE), which
// a thousand long polls reach; that is logged, as the room then answers up to seconds late.
samples::FileDescriptor watch_directory(const std::filesystem::path& directory) {
    if (const char* use = std::getenv("CGIHOST_CHAT_INOTIFY"); use != nullptr && *use == '0') {
        return samples::FileDescriptor();
    }
    samples::FileDescriptor watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!watch) {
        std::cerr << "chat: no inotify (" << std::strerror(errno)
                  << "), so the long poll looks every 0.15 s to 4.8 s instead; see "
                     "fs.inotify.max_user_instances\n";
        return watch;
    }
    if (::inotify_add_watch(watch.get(), directory.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO) <
        0) {
        std::cerr << "chat: cannot watch " << directory << ": " << std::strerror(errno) << '\n';
        watch.reset();
    }
    return watch;
}

// The messages after `since`, waiting for the first one when there is none yet. The watch is
// set before the first look, so a message written between a look and the wait still wakes
// us. A `since` beyond the newest id (the room was reset) answers at once: the client learns
// the real last id instead of waiting for ids that may never come.
Snapshot wait_for_messages(uint64_t since) {
    samples::FileDescriptor watch = watch_directory(chat_directory());
    RoomReader room(since);
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_seconds());
    for (int attempt = 0;; ++attempt) {
        Snapshot snapshot = room.look();
        if (!snapshot.messages.empty() || snapshot.last_id < since) return snapshot;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return snapshot;
        int timeout = watch ? static_cast<int>(left.count())
                            : std::min<int>(samples::poll_backoff_milliseconds(attempt),
                                            static_cast<int>(left.count()));
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
    // nosniff: a browser must not take an answer that quotes a message for HTML or script.
    std::cout << "Content-Type: application/json\n"
              << "X-Content-Type-Options: nosniff\n"
              << "Cache-Control: no-store\n"
              << "Content-Length: " << body.size() << "\n\n"
              << body << std::flush;
}

void send_messages(uint64_t since) {
    Snapshot snapshot = wait_for_messages(since);
    // Newest first until the answer is full, then in order.
    std::vector<std::string> newest;
    size_t bytes = 0;
    for (auto it = snapshot.messages.rbegin(); it != snapshot.messages.rend(); ++it) {
        std::string json = message_json(*it);
        if (!newest.empty() && bytes + json.size() + 1 > kMaxAnswerBytes) break;
        bytes += json.size() + 1;
        newest.push_back(std::move(json));
    }
    const bool truncated = newest.size() < snapshot.messages.size();
    std::string body = "{\"messages\":[";
    for (auto it = newest.rbegin(); it != newest.rend(); ++it) {
        body += (it == newest.rbegin() ? "" : ",") + *it;
    }
    body += "],\"last_id\":" + std::to_string(snapshot.last_id);
    if (truncated) body += ",\"truncated\":true";
    body += "}\n";
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
    Snapshot snapshot = RoomReader(0).look();
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
    // A page on another site must not post in a visitor's name (cross-site request forgery).
    samples::require_same_origin();
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
