// The scriptable CGI program of cgihost's integration tests: its QUERY_STRING chooses how it
// behaves, so every way a script can (mis)behave is a one-line test.
//
// QUERY_STRING is a list of '&'-separated actions, `name` or `name=value` (both percent-decoded,
// '+' meaning space), executed in order; unknown names are ignored. A query that is non-empty,
// has no '=' and names no known action is an ISINDEX query (RFC 3875 section 4.4): the server
// passes its words as argv, so the program runs `env` to show them.
//
// The header block is emitted lazily: header actions only collect lines, and the first body
// output, `close-stdout` or the end of the program writes them followed by a blank line, with
// `Content-Type: text/plain` unless changed. `no-headers` and `raw` turn the block off for good;
// `exit`, `no-output`, `crash` and `abort` end the program without writing it.
//
// Actions (N is a byte count that may end in K, M or G, binary multiples; S is seconds):
//   env                 NAME=value per environment variable (sorted), argv[i]=..., cwd=...
//   status=NNN reason   header `Status: NNN reason`
//   header=Name: value  that raw header line, verbatim (%0D%0A injects CR LF)
//   content-type=x/y    replaces the default Content-Type
//   no-content-type     no Content-Type header at all
//   location=URL        header `Location: URL`, and no Content-Type unless content-type= is given
//   crlf                header lines end in CR LF instead of LF
//   no-headers          no automatic header block: later body actions write raw
//   raw=bytes           writes bytes exactly, and no automatic header block from then on
//   body=text           writes text
//   chunk=K, delay-ms=M later `bytes`/`forever`/`write-before-read` write K bytes at a time
//                       (default 65536) and sleep M milliseconds between writes (default 0)
//   bytes=N             writes N bytes of kPattern: byte i is kPattern[i % 64]
//   forever             writes kPattern until the write fails or the program is killed
//   write-before-read=N like bytes=N; named for tests that write before reading stdin
//   echo-body           copies stdin to stdout until EOF, one read at a time
//   body-sha256         reads stdin to EOF, writes `length=<n>` and `sha256=<hex>` lines
//   ignore-stdin        nothing: documents that stdin is never read
//   close-stdin         close(0)
//   close-stdout        writes the pending header block, then close(1); later actions still run
//   sleep=S             sleeps (S may be fractional)
//   wait-for=/path      sleeps until that file exists (checked every 10 ms): a gate the test
//                       opens when it chooses, so tests assert order rather than timing
//   stderr=N            N bytes on stderr, as lines `stderr line <k> xxx...` of at most 100 bytes
//   stderr-text=text    text and a newline on stderr
//   touch=/path         writes `done\n` to the file, creating it
//   fds                 `fd=<n> -> <target>` per open file descriptor
//   probe-privileges    what we are and what we may do to the server (our parent): lines
//                       `uid=<real> <effective> <saved>`, `gid=...`, `groups=<g1,g2..>`,
//                       `cap_prm=<hex>`, `cap_eff=<hex>`, then `shadow=`, `environ=`,
//                       `mem=` (reading /etc/shadow, /proc/PPID/environ, /proc/PPID/mem),
//                       `kill=` (kill -0 PPID), each `allowed` or `denied <errno text>`
//   append=/path        appends `forged line` to an existing file: `append=allowed|denied ..`
//   signals             `blocked=<16 hex digits>` (bit n-1 is signal n), `sigpipe=<default|
//                       ignore|handler>`
//   pgid                `pid=<pid>` and `pgid=<process group>`
//   grandchild=S        forks a child that sleeps S seconds in our process group, keeping our
//                       stdin/stdout/stderr; writes `grandchild=<pid>` (-1 if fork failed)
//   grandchild-detached=S  the same, but the child's stdin/stdout/stderr are /dev/null
//   fork-bomb=N         tries N forks of children that sleep 5 s on /dev/null stdio; writes
//                       `forked=<k>` and `failed=<m>`; never waits for them
//   ignore-sigterm      SIGTERM ignored from now on, so only SIGKILL stops the program
//   spin                a busy loop that never ends and never writes
//   crash               raise(SIGSEGV) with the default action
//   abort               abort()
//   exit=N              _exit(N) at once
//   no-output           _exit(0) at once
//
// Writing to stdout retries EINTR and partial writes; EPIPE ends the program quietly with 0.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "sha256.hpp"

namespace {

constexpr std::string_view kPattern =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
static_assert(kPattern.size() == 64);

constexpr size_t kDefaultChunkSize = 65536;
constexpr size_t kReadSize = 65536;
constexpr size_t kStderrLineLength = 100;
constexpr double kForkBombChildSeconds = 5;

// ---- Low-level I/O ---------------------------------------------------------------------------

// Writes all of `data`, retrying EINTR and partial writes. A reader that went away (EPIPE)
// ends the program quietly; other errors return false.
bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t written = write(fd, data.data(), data.size());
        if (written < 0) {
            if (errno == EINTR) continue;
            if (errno == EPIPE) _exit(0);
            return false;
        }
        data.remove_prefix(static_cast<size_t>(written));
    }
    return true;
}

// Reads what stdin has, up to `size` bytes; 0 means EOF, an error or a closed fd 0.
size_t read_stdin(char* buffer, size_t size) {
    for (;;) {
        ssize_t count = read(STDIN_FILENO, buffer, size);
        if (count >= 0) return static_cast<size_t>(count);
        if (errno != EINTR) return 0;
    }
}

void sleep_seconds(double seconds) {
    if (!(seconds > 0)) return;  // also rejects NaN
    timespec remaining{};
    remaining.tv_sec = static_cast<time_t>(seconds);
    remaining.tv_nsec = static_cast<long>((seconds - std::floor(seconds)) * 1e9);
    while (nanosleep(&remaining, &remaining) != 0 && errno == EINTR) {
    }
}

// ---- Values ----------------------------------------------------------------------------------

int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Form decoding: %XX becomes that byte, '+' a space; a malformed % stays as it is.
std::string decode_query_component(std::string_view text) {
    std::string decoded;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            decoded += ' ';
        } else if (text[i] == '%' && i + 2 < text.size() && hex_digit_value(text[i + 1]) >= 0 &&
                   hex_digit_value(text[i + 2]) >= 0) {
            decoded +=
                static_cast<char>(hex_digit_value(text[i + 1]) * 16 + hex_digit_value(text[i + 2]));
            i += 2;
        } else {
            decoded += text[i];
        }
    }
    return decoded;
}

// "100", "64K", "2M", "1G" (binary multiples); anything unparsable counts as 0.
uint64_t parse_count(std::string_view text) {
    uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc()) return 0;
    std::string_view suffix(end, static_cast<size_t>(text.data() + text.size() - end));
    if (suffix == "K" || suffix == "k") return value << 10;
    if (suffix == "M" || suffix == "m") return value << 20;
    if (suffix == "G" || suffix == "g") return value << 30;
    return suffix.empty() ? value : 0;
}

double parse_seconds(const std::string& text) {
    return std::strtod(text.c_str(), nullptr);
}

// SHA-256 comes from the test support library, shared with the tests that check digests.
using cgihost::testing::Sha256;

// ---- Standard output and the lazy header block -----------------------------------------------

// Everything the program writes to stdout goes through here, so the CGI header block
// (RFC 3875 section 6.2) is written exactly once, before the first body byte.
class Output {
  public:
    // Header actions after the block went out have nothing left to change; they are ignored.
    void add_header(std::string line) {
        if (!flushed_) header_lines_.push_back(std::move(line));
    }
    void set_content_type(std::string type) { content_type_ = std::move(type); }
    void omit_content_type() { omit_content_type_ = true; }
    void set_location(const std::string& url) {
        add_header("Location: " + url);
        has_location_ = true;
    }
    void use_crlf() { line_end_ = "\r\n"; }
    void disable_headers() { headers_enabled_ = false; }

    // Writes the header block if it is still due: enabled, not yet written, stdout open.
    void flush_headers() {
        if (flushed_ || !headers_enabled_ || closed_) return;
        flushed_ = true;
        std::string block;
        for (const std::string& line : header_lines_)
            block += line + line_end_;
        bool wants_content_type = !has_location_ || !content_type_.empty();
        if (!omit_content_type_ && wants_content_type) {
            block += "Content-Type: " + (content_type_.empty() ? "text/plain" : content_type_);
            block += line_end_;
        }
        block += line_end_;
        write_all(STDOUT_FILENO, block);
    }

    // Returns false once stdout is closed or failed, so endless writers can stop.
    bool write_body(std::string_view data) {
        if (closed_) return false;
        flush_headers();
        return write_all(STDOUT_FILENO, data);
    }

    void close_stdout() {
        flush_headers();
        close(STDOUT_FILENO);
        closed_ = true;
    }

  private:
    std::vector<std::string> header_lines_;
    std::string content_type_;  // empty: text/plain, or none after a Location
    std::string line_end_ = "\n";
    bool omit_content_type_ = false;
    bool has_location_ = false;
    bool headers_enabled_ = true;
    bool flushed_ = false;
    bool closed_ = false;
};

// ---- Actions ---------------------------------------------------------------------------------

struct Script {
    int argc = 0;
    char** argv = nullptr;
    Output out;
    size_t chunk_size = kDefaultChunkSize;
    uint64_t delay_ms = 0;
};

void write_line(Script& script, const std::string& line) {
    script.out.write_body(line + "\n");
}

// Writes `count` bytes of kPattern in writes of chunk_size, pausing delay_ms between them;
// returns false if stdout stopped accepting them.
bool write_pattern(Script& script, uint64_t count) {
    std::string repeated;
    while (repeated.size() < script.chunk_size + kPattern.size())
        repeated += kPattern;
    for (uint64_t offset = 0; offset < count;) {
        if (offset > 0) sleep_seconds(static_cast<double>(script.delay_ms) / 1000);
        size_t size = static_cast<size_t>(std::min<uint64_t>(script.chunk_size, count - offset));
        std::string_view piece(repeated.data() + offset % kPattern.size(), size);
        if (!script.out.write_body(piece)) return false;
        offset += size;
    }
    return true;
}

void run_env(Script& script, const std::string&) {
    std::vector<std::string> variables;
    for (char** entry = environ; *entry != nullptr; ++entry)
        variables.emplace_back(*entry);
    auto name_of = [](const std::string& variable) {
        return variable.substr(0, variable.find('='));
    };
    std::sort(variables.begin(), variables.end(),
              [&](const std::string& x, const std::string& y) { return name_of(x) < name_of(y); });
    for (const std::string& variable : variables)
        write_line(script, variable);
    for (int i = 0; i < script.argc; ++i) {
        write_line(script, "argv[" + std::to_string(i) + "]=" + script.argv[i]);
    }
    char cwd[4096];
    write_line(script, std::string("cwd=") + (getcwd(cwd, sizeof cwd) ? cwd : "?"));
}

void run_echo_body(Script& script, const std::string&) {
    std::vector<char> buffer(kReadSize);
    while (size_t count = read_stdin(buffer.data(), buffer.size())) {
        script.out.write_body(std::string_view(buffer.data(), count));
    }
}

void run_body_sha256(Script& script, const std::string&) {
    std::vector<char> buffer(kReadSize);
    Sha256 hash;
    uint64_t length = 0;
    while (size_t count = read_stdin(buffer.data(), buffer.size())) {
        hash.update(std::string_view(buffer.data(), count));
        length += count;
    }
    write_line(script, "length=" + std::to_string(length));
    write_line(script, "sha256=" + hash.finish_hex());
}

// `count` bytes of stderr in lines "stderr line <k> xxx...\n" of at most 100 bytes; the last
// line is shorter when needed, so the total is exact.
void run_stderr(Script&, const std::string& value) {
    uint64_t remaining = parse_count(value);
    std::string batch;
    for (uint64_t k = 1; remaining > 0; ++k) {
        size_t length = static_cast<size_t>(std::min<uint64_t>(kStderrLineLength, remaining));
        std::string line = "stderr line " + std::to_string(k) + " ";
        line.resize(length - 1, 'x');
        batch += line + "\n";
        remaining -= length;
        if (batch.size() >= kReadSize || remaining == 0) {
            if (!write_all(STDERR_FILENO, batch)) return;
            batch.clear();
        }
    }
}

void run_touch(Script&, const std::string& path) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    write_all(fd, "done\n");
    close(fd);
}

void run_wait_for(Script&, const std::string& path) {
    while (access(path.c_str(), F_OK) != 0)
        sleep_seconds(0.01);
}

void run_fds(Script& script, const std::string&) {
    DIR* directory = opendir("/proc/self/fd");
    if (directory == nullptr) return;
    std::vector<int> fds;
    while (dirent* entry = readdir(directory)) {
        int fd = std::atoi(entry->d_name);
        if (entry->d_name[0] != '.' && fd != dirfd(directory)) fds.push_back(fd);
    }
    closedir(directory);
    std::sort(fds.begin(), fds.end());
    for (int fd : fds) {
        char target[4096];
        std::string link = "/proc/self/fd/" + std::to_string(fd);
        ssize_t size = readlink(link.c_str(), target, sizeof target);
        std::string shown = size < 0 ? "?" : std::string(target, static_cast<size_t>(size));
        write_line(script, "fd=" + std::to_string(fd) + " -> " + shown);
    }
}

std::string verdict(bool allowed) {
    return allowed ? "allowed" : std::string("denied ") + std::strerror(errno);
}

// Opens and reads a byte of `path` (at `offset`, for /proc/PID/mem).
std::string try_read(const std::string& path, off_t offset = 0) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return verdict(false);
    char byte = 0;
    bool ok = pread(fd, &byte, 1, offset) >= 0;
    std::string result = verdict(ok);
    close(fd);
    return result;
}

// The start of our parent's first readable mapping, for a read of /proc/PPID/mem; 0 if its
// maps cannot be read (then the open of mem decides).
off_t first_mapping(pid_t pid) {
    FILE* maps = std::fopen(("/proc/" + std::to_string(pid) + "/maps").c_str(), "re");
    if (maps == nullptr) return 0;
    unsigned long long start = 0;
    int matched = std::fscanf(maps, "%llx", &start);
    std::fclose(maps);
    return matched == 1 ? static_cast<off_t>(start) : 0;
}

std::string hex_capabilities(const char* field) {
    FILE* status = std::fopen("/proc/self/status", "re");
    if (status == nullptr) return "?";
    char line[256];
    std::string found = "?";
    const size_t length = std::strlen(field);
    while (std::fgets(line, sizeof line, status) != nullptr) {
        if (std::strncmp(line, field, length) == 0 && line[length] == ':') {
            found = std::string(line + length + 1);
            found.erase(0, found.find_first_not_of(" \t"));
            found.erase(found.find_last_not_of(" \t\n") + 1);
        }
    }
    std::fclose(status);
    return found;
}

void run_probe_privileges(Script& script, const std::string&) {
    uid_t ruid = 0, euid = 0, suid = 0;
    gid_t rgid = 0, egid = 0, sgid = 0;
    getresuid(&ruid, &euid, &suid);
    getresgid(&rgid, &egid, &sgid);
    write_line(script, "uid=" + std::to_string(ruid) + " " + std::to_string(euid) + " " +
                           std::to_string(suid));
    write_line(script, "gid=" + std::to_string(rgid) + " " + std::to_string(egid) + " " +
                           std::to_string(sgid));
    std::vector<gid_t> groups(static_cast<size_t>(std::max(getgroups(0, nullptr), 0)));
    groups.resize(static_cast<size_t>(
        std::max(getgroups(static_cast<int>(groups.size()), groups.data()), 0)));
    std::string list;
    for (gid_t group : groups)
        list += (list.empty() ? "" : ",") + std::to_string(group);
    write_line(script, "groups=" + list);
    write_line(script, "cap_prm=" + hex_capabilities("CapPrm"));
    write_line(script, "cap_eff=" + hex_capabilities("CapEff"));
    const pid_t parent = getppid();
    const std::string proc = "/proc/" + std::to_string(parent);
    write_line(script, "shadow=" + try_read("/etc/shadow"));
    write_line(script, "environ=" + try_read(proc + "/environ"));
    write_line(script, "mem=" + try_read(proc + "/mem", first_mapping(parent)));
    write_line(script, "kill=" + verdict(kill(parent, 0) == 0));
}

void run_append(Script& script, const std::string& path) {
    int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    bool ok = fd >= 0 && write(fd, "forged line\n", 12) == 12;
    write_line(script, "append=" + verdict(ok));
    if (fd >= 0) close(fd);
}

void run_signals(Script& script, const std::string&) {
    sigset_t blocked;
    sigprocmask(SIG_SETMASK, nullptr, &blocked);
    uint64_t bits = 0;
    for (int signal_number = 1; signal_number <= 64; ++signal_number) {
        if (sigismember(&blocked, signal_number) == 1) bits |= uint64_t{1} << (signal_number - 1);
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(bits));
    write_line(script, std::string("blocked=") + hex);

    struct sigaction action {};
    sigaction(SIGPIPE, nullptr, &action);
    const char* disposition = action.sa_handler == SIG_DFL   ? "default"
                              : action.sa_handler == SIG_IGN ? "ignore"
                                                             : "handler";
    write_line(script, std::string("sigpipe=") + disposition);
}

void run_pgid(Script& script, const std::string&) {
    write_line(script, "pid=" + std::to_string(getpid()));
    write_line(script, "pgid=" + std::to_string(getpgrp()));
}

void redirect_stdio_to_dev_null() {
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd < 0) return;
    for (int fd = 0; fd <= 2; ++fd)
        dup2(null_fd, fd);
    if (null_fd > 2) close(null_fd);
}

// Forks a child that sleeps `seconds` in our process group (no setsid) and exits silently;
// returns its pid, or -1.
pid_t fork_sleeper(double seconds, bool detach_stdio) {
    pid_t pid = fork();
    if (pid == 0) {
        if (detach_stdio) redirect_stdio_to_dev_null();
        sleep_seconds(seconds);
        _exit(0);
    }
    return pid;
}

void run_grandchild(Script& script, const std::string& value) {
    write_line(script, "grandchild=" + std::to_string(fork_sleeper(parse_seconds(value), false)));
}

void run_grandchild_detached(Script& script, const std::string& value) {
    write_line(script, "grandchild=" + std::to_string(fork_sleeper(parse_seconds(value), true)));
}

void run_fork_bomb(Script& script, const std::string& value) {
    uint64_t attempts = parse_count(value);
    uint64_t forked = 0;
    for (uint64_t i = 0; i < attempts; ++i) {
        if (fork_sleeper(kForkBombChildSeconds, true) > 0) ++forked;
    }
    write_line(script, "forked=" + std::to_string(forked));
    write_line(script, "failed=" + std::to_string(attempts - forked));
}

void run_crash(Script&, const std::string&) {
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    _exit(139);  // not reached unless SIGSEGV is blocked
}

using ActionFunction = void (*)(Script&, const std::string& value);

struct Action {
    std::string_view name;
    ActionFunction run;
};

const Action kActions[] = {
    {"env", run_env},
    {"status", [](Script& s, const std::string& v) { s.out.add_header("Status: " + v); }},
    {"header", [](Script& s, const std::string& v) { s.out.add_header(v); }},
    {"content-type", [](Script& s, const std::string& v) { s.out.set_content_type(v); }},
    {"no-content-type", [](Script& s, const std::string&) { s.out.omit_content_type(); }},
    {"location", [](Script& s, const std::string& v) { s.out.set_location(v); }},
    {"crlf", [](Script& s, const std::string&) { s.out.use_crlf(); }},
    {"no-headers", [](Script& s, const std::string&) { s.out.disable_headers(); }},
    {"raw",
     [](Script& s, const std::string& v) {
         s.out.disable_headers();
         s.out.write_body(v);
     }},
    {"body", [](Script& s, const std::string& v) { s.out.write_body(v); }},
    {"chunk",
     [](Script& s, const std::string& v) {
         s.chunk_size = std::max<size_t>(1, static_cast<size_t>(parse_count(v)));
     }},
    {"delay-ms", [](Script& s, const std::string& v) { s.delay_ms = parse_count(v); }},
    {"bytes", [](Script& s, const std::string& v) { write_pattern(s, parse_count(v)); }},
    {"write-before-read",
     [](Script& s, const std::string& v) { write_pattern(s, parse_count(v)); }},
    {"forever",
     [](Script& s, const std::string&) {
         while (write_pattern(s, uint64_t{1} << 40)) {
         }
         _exit(1);
     }},
    {"echo-body", run_echo_body},
    {"body-sha256", run_body_sha256},
    {"ignore-stdin", [](Script&, const std::string&) {}},
    {"close-stdin", [](Script&, const std::string&) { close(STDIN_FILENO); }},
    {"rlimit-nofile",
     [](Script& s, const std::string&) {
         rlimit files{};
         getrlimit(RLIMIT_NOFILE, &files);
         write_line(s, "nofile_soft=" + std::to_string(files.rlim_cur));
         write_line(s, "nofile_hard=" + std::to_string(files.rlim_max));
     }},
    {"close-stdout", [](Script& s, const std::string&) { s.out.close_stdout(); }},
    {"sleep", [](Script&, const std::string& v) { sleep_seconds(parse_seconds(v)); }},
    {"stderr", run_stderr},
    {"stderr-text", [](Script&, const std::string& v) { write_all(STDERR_FILENO, v + "\n"); }},
    {"touch", run_touch},
    {"wait-for", run_wait_for},
    {"fds", run_fds},
    {"probe-privileges", run_probe_privileges},
    {"append", run_append},
    {"signals", run_signals},
    {"pgid", run_pgid},
    {"grandchild", run_grandchild},
    {"grandchild-detached", run_grandchild_detached},
    {"fork-bomb", run_fork_bomb},
    {"ignore-sigterm", [](Script&, const std::string&) { signal(SIGTERM, SIG_IGN); }},
    {"spin",
     [](Script&, const std::string&) {
         // A volatile counter keeps the compiler from deleting the loop as having no effect.
         volatile uint64_t turns = 0;
         for (;;) {
             turns = turns + 1;
         }
     }},
    {"crash", run_crash},
    {"abort", [](Script&, const std::string&) { abort(); }},
    {"exit", [](Script&, const std::string& v) { _exit(std::atoi(v.c_str())); }},
    {"no-output", [](Script&, const std::string&) { _exit(0); }},
};

const Action* find_action(std::string_view name) {
    for (const Action& action : kActions) {
        if (action.name == name) return &action;
    }
    return nullptr;
}

// Runs the query's actions in order; returns whether any of them was a known action.
bool run_actions(Script& script, std::string_view query) {
    bool any_known = false;
    while (!query.empty()) {
        std::string_view item = query.substr(0, query.find('&'));
        query.remove_prefix(std::min(query.size(), item.size() + 1));
        size_t equals = item.find('=');
        std::string name = decode_query_component(item.substr(0, equals));
        std::string value =
            equals == std::string_view::npos ? "" : decode_query_component(item.substr(equals + 1));
        if (const Action* action = find_action(name)) {
            any_known = true;
            action->run(script, value);
        }
    }
    return any_known;
}

}  // namespace

// Under AddressSanitizer, the leak check at exit needs a new thread, which fails (exit status 1
// and noise on stderr) once fork-bomb has used up RLIMIT_NPROC. The program keeps nothing worth
// checking, so it turns leak detection off; other builds never call this hook.
extern "C" const char* __asan_default_options() {
    return "detect_leaks=0";
}

int main(int argc, char** argv) {
    Script script;
    script.argc = argc;
    script.argv = argv;
    const char* query_variable = std::getenv("QUERY_STRING");
    std::string_view query = query_variable == nullptr ? "" : query_variable;
    bool any_known = run_actions(script, query);
    // An ISINDEX query (RFC 3875 section 4.4) shows the argv words the server made of it.
    bool is_isindex_query = !query.empty() && query.find('=') == std::string_view::npos;
    if (is_isindex_query && !any_known) run_env(script, "");
    script.out.flush_headers();
    return 0;
}
