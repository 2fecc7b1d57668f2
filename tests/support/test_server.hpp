// Starts the real cgihost binary on 127.0.0.1:0 for integration tests and stops it by pid.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cgihost::testing {

// A fresh directory under TMPDIR (mode 0755, so that the users a root-started server drops to
// can reach it), removed with everything in it on destruction.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& relative) const { return path_ / relative; }
    std::string file(const std::string& relative) const { return (path_ / relative).string(); }
    // Lets anyone create files here (mode 1777, as /tmp): for what scripts write and the logs
    // a server recreates on SIGHUP, since a root-started server runs as www-data and its
    // scripts as yet another user.
    void let_anyone_write() const;
    // Writes `content` to path()/relative, creating parent directories, with `mode`.
    std::filesystem::path write_file(const std::string& relative, const std::string& content,
                                     unsigned mode = 0644) const;

  private:
    std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& path);

// Incompressible bytes of every value (CR, LF and '-' included), the same for the same seed
// (xorshift64): upload and push payloads that are reproducible when a test fails.
std::string pseudo_random_bytes(size_t size, uint64_t seed);

// Where meson put things (set through the test's environment).
std::string cgihost_binary();
std::string test_cgi_binary();  // the scriptable test CGI, for the CGI tests

class TestServer {
  public:
    // Runs cgihost with `args` plus --listen 127.0.0.1:0 (unless args has --listen) and logs
    // into a private directory; waits until it prints its bound port. A `launcher` (e.g.
    // setpriv and its options) runs cgihost in its place and must exec it, keeping the pid.
    explicit TestServer(std::vector<std::string> args, bool add_listen = true,
                        const std::vector<std::string>& launcher = {});
    ~TestServer();
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    uint16_t port() const { return port_; }
    // The port of the first --listen-tls address; 0 without one.
    uint16_t tls_port() const { return tls_port_; }
    // The host of the first address it listens on, IPv6 without brackets ("127.0.0.1", "::1").
    const std::string& host() const { return host_; }
    pid_t pid() const { return pid_; }
    // Sends `signal_number` and waits up to `timeout_seconds` (a hang guard, kHangGuard) for
    // exit; returns the exit status, or -1 if it had to be killed.
    int stop(int signal_number = 15, double timeout_seconds = 60);
    std::string error_log() const;
    std::string access_log() const;  // waits for the buffered log to be flushed first
    std::filesystem::path log_dir() const { return logs_.path(); }

  private:
    TempDir logs_;
    pid_t pid_ = -1;
    uint16_t port_ = 0;
    uint16_t tls_port_ = 0;
    std::string host_;
};

// Runs cgihost with `args` to completion (for --help, bad configs); captures its output.
struct ProcessResult {
    int exit_status = -1;
    std::string out;
    std::string err;
};
ProcessResult run_cgihost(const std::vector<std::string>& args,
                          double timeout_seconds = 60);  // a hang guard

// Runs `command` through /bin/sh and collects its exit status (-1 if it did not exit) and what
// it printed, stdout and stderr together.
struct ShellResult {
    int exit_status = -1;  // -1 when it did not exit normally
    std::string output;    // stdout and stderr together
};
ShellResult run_shell(const std::string& command);

// How many times `what` occurs in `text` (overlapping occurrences included).
size_t count_occurrences(const std::string& text, const std::string& what);

// Counts the open file descriptors and the zombie children of a process.
int count_open_fds(pid_t pid);
int count_zombie_children(pid_t pid);

// The processes whose parent is `parent` (zombies included), with their state letters.
struct ChildProcess {
    pid_t pid = 0;
    char state = 0;  // as in /proc/<pid>/stat: 'R', 'S', 'Z', ...
};
std::vector<ChildProcess> children_of(pid_t parent);

// VmRSS of a process in bytes; 0 when unreadable.
uint64_t resident_bytes(pid_t pid);
// VmHWM, the largest VmRSS the process has had, in bytes; 0 when unreadable.
uint64_t peak_resident_bytes(pid_t pid);
// The CPU time (user + system, all threads, children excluded) a process has used.
double cpu_seconds(pid_t pid);

}  // namespace cgihost::testing
