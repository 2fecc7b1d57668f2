// What the CGI integration tests share: a temporary site whose cgi-bin holds copies of the
// scriptable test CGI (tests/cgi/test_cgi.cpp), the real server started on it, and helpers to
// read what the script printed and what became of its processes.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "test_server.hpp"

namespace cgihost::testing {

using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

// The test CGI's `bytes=` output: byte i is kPattern[i % 64].
inline constexpr std::string_view kPattern =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";

inline constexpr std::string_view kIndexHtml = "<h1>home</h1>\n";

// The index of the first byte of `data` that differs from the pattern started at `offset`,
// or data.size() when every byte matches.
inline size_t first_pattern_mismatch(std::string_view data, uint64_t offset = 0) {
    for (size_t i = 0; i < data.size(); ++i) {
        if (data[i] != kPattern[(offset + i) % kPattern.size()]) return i;
    }
    return data.size();
}

// The `NAME=value` lines the test CGI prints (env, pgid, fds...), split at the first '='.
inline std::map<std::string, std::string> parse_lines(std::string_view body) {
    std::map<std::string, std::string> lines;
    while (!body.empty()) {
        std::string_view line = body.substr(0, body.find('\n'));
        body.remove_prefix(std::min(body.size(), line.size() + 1));
        size_t equals = line.find('=');
        if (equals != std::string_view::npos) {
            lines.emplace(std::string(line.substr(0, equals)),
                          std::string(line.substr(equals + 1)));
        }
    }
    return lines;
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// State letter ('R', 'S', 'Z'...) and parent of a process, from /proc/<pid>/stat.
struct ProcessStatus {
    char state = 0;
    pid_t parent = 0;
};

inline std::optional<ProcessStatus> read_process_status(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return std::nullopt;
    auto close_paren = line.rfind(')');
    if (close_paren == std::string::npos) return std::nullopt;
    std::istringstream rest(line.substr(close_paren + 2));
    ProcessStatus status;
    rest >> status.state >> status.parent;
    return status;
}

// Exists and is not a zombie: it can still run code.
inline bool is_running(pid_t pid) {
    auto status = read_process_status(pid);
    return status && status->state != 'Z';
}

// Every process (zombies included) whose parent is `parent`.
inline std::vector<pid_t> child_processes(pid_t parent) {
    std::vector<pid_t> pids;
    for (const ChildProcess& child : children_of(parent))
        pids.push_back(child.pid);
    return pids;
}

// Reads from a raw socket into `received` until `done(received)` holds (true) or the peer
// closes or `timeout` passes (false).
inline bool read_until(int fd, std::string& received,
                       const std::function<bool(const std::string&)>& done,
                       std::chrono::milliseconds timeout = kHangGuard) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(received)) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd pfd{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
            return false;
        }
        char buffer[65536];
        ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) return false;
        received.append(buffer, static_cast<size_t>(n));
    }
    return true;
}

// A raw response split at the blank line after its head; body is "" when that never came.
struct RawResponse {
    std::string head;
    std::string body;
};

inline RawResponse split_raw_response(const std::string& raw) {
    size_t end = raw.find("\r\n\r\n");
    if (end == std::string::npos) return {raw, ""};
    return {raw.substr(0, end + 2), raw.substr(end + 4)};
}

// As much of a chunked body as `data` holds; complete once the last chunk and its blank
// line arrived.
struct Dechunked {
    std::string payload;
    bool complete = false;
};

inline Dechunked dechunk(std::string_view data) {
    Dechunked out;
    for (;;) {
        size_t line_end = data.find("\r\n");
        if (line_end == std::string_view::npos) return out;
        size_t size = std::strtoul(std::string(data.substr(0, line_end)).c_str(), nullptr, 16);
        data.remove_prefix(line_end + 2);
        if (size == 0) {
            out.complete = data.starts_with("\r\n");
            return out;
        }
        out.payload += data.substr(0, size);
        if (data.size() < size + 2) return out;
        data.remove_prefix(size + 2);
    }
}

class CgiTest : public ::testing::Test {
  protected:
    CgiTest() {
        site_.let_anyone_write();  // touch= markers, a shell script's run counter
        site_.write_file("www/index.html", std::string(kIndexHtml));
        install_test_cgi("cgi-bin/t");
        install_test_cgi("cgi-bin/sub/t2");
        install_test_cgi("cgi-bin/nph-t");
    }

    // Copies the built test CGI to site_/relative with mode 0755.
    void install_test_cgi(const std::string& relative) const {
        auto destination = site_ / relative;
        std::filesystem::create_directories(destination.parent_path());
        std::filesystem::copy_file(test_cgi_binary(), destination,
                                   std::filesystem::copy_options::overwrite_existing);
        std::filesystem::permissions(destination, static_cast<std::filesystem::perms>(0755));
    }

    // The server realpath()s its directories, so tests compare against canonical paths.
    std::filesystem::path docroot() const { return std::filesystem::canonical(site_ / "www"); }
    std::filesystem::path cgi_dir() const { return std::filesystem::canonical(site_ / "cgi-bin"); }

    // Starts cgihost on the site with `extra` flags after --docroot and --cgi-dir, through
    // `launcher` if given (see TestServer).
    void start(const std::vector<std::string>& extra = {},
               const std::vector<std::string>& launcher = {}) {
        std::vector<std::string> args{"--docroot", docroot().string(), "--cgi-dir",
                                      cgi_dir().string()};
        args.insert(args.end(), extra.begin(), extra.end());
        server_ = std::make_unique<TestServer>(args, true, launcher);
    }

    // Sends `request_head` (and nothing else) on a fresh connection and returns everything
    // received until the server closes it or `timeout` passes; `closed` (when given) says
    // which of the two it was.
    std::string exchange_raw(const std::string& request_head,
                             std::chrono::milliseconds timeout = kHangGuard,
                             bool* closed = nullptr) const {
        HttpConnection connection(port());
        connection.send_raw(request_head);
        std::string received = connection.read_until_close(timeout);
        if (closed != nullptr) *closed = connection.closed_by_peer();
        return received;
    }

    uint16_t port() const { return server_->port(); }

    std::optional<HttpResponse> get(const std::string& target, const Headers& headers = {}) const {
        return http_get(port(), target, headers);
    }

    // The NAME=value lines a 200 response to GET `target` carried; empty (and a test failure)
    // for anything else.
    std::map<std::string, std::string> fetch_lines(const std::string& target,
                                                   const Headers& headers = {}) const {
        auto response = get(target, headers);
        if (!response || response->status != 200) {
            ADD_FAILURE() << "GET " << target << " gave "
                          << (response ? std::to_string(response->status) : "no response");
            return {};
        }
        return parse_lines(response->body);
    }

    // Waits until the server runs exactly one script: its pid, or 0 if none came in time.
    pid_t wait_for_single_script(std::chrono::milliseconds timeout = kHangGuard) const {
        pid_t script = 0;
        (void)wait_until(
            [&] {
                auto children = child_processes(server_->pid());
                script = children.size() == 1 ? children.front() : 0;
                return script != 0;
            },
            timeout);
        return script;
    }

    // Whether the error log comes to contain `text` within `timeout`.
    bool error_log_contains(const std::string& text,
                            std::chrono::milliseconds timeout = kHangGuard) const {
        return wait_until([&] { return server_->error_log().find(text) != std::string::npos; },
                          timeout);
    }

    // Whether every process the server started has gone (zombies included) within `timeout`.
    bool all_children_gone(std::chrono::milliseconds timeout = kHangGuard) const {
        return wait_until([&] { return child_processes(server_->pid()).empty(); }, timeout);
    }

    TempDir site_;
    std::unique_ptr<TestServer> server_;
};

}  // namespace cgihost::testing
