#include "test_server.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "http_client.hpp"

extern char** environ;

namespace cgihost::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string required_env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        throw std::runtime_error(std::string(name) + " is not set; run the tests with meson test");
    }
    return value;
}

bool has_arg(const std::vector<std::string>& args, const std::string& flag) {
    for (const auto& arg : args) {
        if (arg == flag || arg.rfind(flag + "=", 0) == 0) return true;
    }
    return false;
}

// Spawns cgihost with stdout and stderr on pipes; returns the pid.
pid_t spawn_cgihost(const std::vector<std::string>& args, const std::vector<std::string>& launcher,
                    int& out_fd, int& err_fd) {
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe2 failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    std::string binary = cgihost_binary();
    std::vector<std::string> copies(launcher);
    copies.push_back(binary);
    copies.insert(copies.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : copies)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    if (rc != 0) throw std::runtime_error("cannot start " + binary);
    out_fd = out[0];
    err_fd = err[0];
    return pid;
}

// Reads what is available on `fd` until EOF or the deadline.
bool read_some(int fd, std::string& into, Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd pfd{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    into.append(buf, static_cast<size_t>(n));
    return true;
}

std::string drain(int fd, Clock::time_point deadline) {
    std::string all;
    while (read_some(fd, all, deadline)) {
    }
    return all;
}

int wait_with_timeout(pid_t pid, double timeout_seconds) {
    auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(timeout_seconds));
    for (;;) {
        int status = 0;
        pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (Clock::now() >= deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace

TempDir::TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/cgihost-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
    // Started as root, cgihost serves as www-data and runs scripts as another user (see
    // src/privileges.hpp): both must be able to reach what a test puts here.
    std::filesystem::permissions(path_, std::filesystem::perms(0755));
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ignored);
    std::filesystem::remove_all(path_, ignored);
}

void TempDir::let_anyone_write() const {
    std::filesystem::permissions(path_, std::filesystem::perms(01777));
}

std::filesystem::path TempDir::write_file(const std::string& relative, const std::string& content,
                                          unsigned mode) const {
    auto file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
    std::filesystem::permissions(file, static_cast<std::filesystem::perms>(mode));
    return file;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string pseudo_random_bytes(size_t size, uint64_t seed) {
    std::string bytes(size, '\0');
    uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
    for (char& byte : bytes) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        byte = static_cast<char>(state >> 24);
    }
    return bytes;
}

std::string cgihost_binary() {
    return required_env("CGIHOST_BIN");
}
std::string test_cgi_binary() {
    return required_env("CGIHOST_TEST_CGI");
}

TestServer::TestServer(std::vector<std::string> args, bool add_listen,
                       const std::vector<std::string>& launcher) {
    if (add_listen && !has_arg(args, "--listen")) {
        args.insert(args.end(), {"--listen", "127.0.0.1:0"});
    }
    logs_.let_anyone_write();  // a server started as root recreates its logs as www-data
    if (!has_arg(args, "--error-log")) {
        args.insert(args.end(), {"--error-log", (logs_ / "error.log").string()});
    }
    if (!has_arg(args, "--access-log")) {
        args.insert(args.end(), {"--access-log", (logs_ / "access.log").string()});
    }
    if (!has_arg(args, "--threads")) args.insert(args.end(), {"--threads", "2"});
    int out_fd = -1;
    int err_fd = -1;
    pid_ = spawn_cgihost(args, launcher, out_fd, err_fd);
    std::string out;
    auto deadline = Clock::now() + kHangGuard;  // a slow start under load is no failure
    // "cgihost: listening on http://127.0.0.1:PORT/" or "... http://[::1]:PORT/".
    const std::string marker = "listening on http://";
    // With --listen-tls, also "... https://127.0.0.1:PORT/", printed after the plain ones.
    const std::string tls_marker = "listening on https://";
    auto has_line = [&out](const std::string& what) {
        return out.find(what) != std::string::npos &&
               out.find('\n', out.find(what)) != std::string::npos;
    };
    const bool tls = has_arg(args, "--listen-tls");
    while (!has_line(marker) || (tls && !has_line(tls_marker))) {
        if (!read_some(out_fd, out, deadline)) break;
    }
    ::close(out_fd);
    auto at = out.find(marker);
    if (at == std::string::npos) {
        std::string err = drain(err_fd, Clock::now() + std::chrono::seconds(2));
        ::close(err_fd);
        stop(SIGKILL, 5);
        throw std::runtime_error("cgihost did not start: " + out + err);
    }
    ::close(err_fd);
    std::string address = out.substr(at + marker.size());
    address = address.substr(0, address.find('/'));
    auto colon = address.rfind(':');
    host_ = address.substr(0, colon);
    if (host_.size() > 2 && host_.front() == '[') host_ = host_.substr(1, host_.size() - 2);
    port_ = static_cast<uint16_t>(std::atoi(address.c_str() + colon + 1));
    if (auto tls_at = out.find(tls_marker); tls_at != std::string::npos) {
        std::string tls_address = out.substr(tls_at + tls_marker.size());
        tls_address = tls_address.substr(0, tls_address.find('/'));
        tls_port_ =
            static_cast<uint16_t>(std::atoi(tls_address.c_str() + tls_address.rfind(':') + 1));
    }
}

TestServer::~TestServer() {
    if (pid_ > 0) stop(SIGKILL, 5);
}

int TestServer::stop(int signal_number, double timeout_seconds) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, signal_number);
    int status = wait_with_timeout(pid_, timeout_seconds);
    pid_ = -1;
    return status;
}

std::string TestServer::error_log() const {
    return read_file(logs_ / "error.log");
}

std::string TestServer::access_log() const {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // flushed every 200 ms
    return read_file(logs_ / "access.log");
}

ShellResult run_shell(const std::string& command) {
    ShellResult result;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return result;
    char buffer[4096];
    size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
        result.output.append(buffer, got);
    const int status = ::pclose(pipe);
    if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
    return result;
}

size_t count_occurrences(const std::string& text, const std::string& what) {
    size_t count = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++count;
    return count;
}

ProcessResult run_cgihost(const std::vector<std::string>& args, double timeout_seconds) {
    int out_fd = -1;
    int err_fd = -1;
    pid_t pid = spawn_cgihost(args, {}, out_fd, err_fd);
    auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(timeout_seconds));
    ProcessResult result;
    result.out = drain(out_fd, deadline);
    result.err = drain(err_fd, deadline);
    ::close(out_fd);
    ::close(err_fd);
    result.exit_status = wait_with_timeout(pid, timeout_seconds);
    return result;
}

int count_open_fds(pid_t pid) {
    std::string path = "/proc/" + std::to_string(pid) + "/fd";
    int count = 0;
    std::error_code error;
    for (auto it = std::filesystem::directory_iterator(path, error);
         !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
        ++count;
    }
    return count;
}

std::vector<ChildProcess> children_of(pid_t parent) {
    std::vector<ChildProcess> children;
    std::error_code error;
    for (auto it = std::filesystem::directory_iterator("/proc", error);
         !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
        std::ifstream stat(it->path() / "stat");
        std::string line;
        if (!std::getline(stat, line)) continue;
        auto close_paren = line.rfind(')');  // the command name may hold anything
        if (close_paren == std::string::npos) continue;
        std::istringstream rest(line.substr(close_paren + 2));
        ChildProcess child;
        pid_t ppid = 0;
        rest >> child.state >> ppid;
        if (ppid != parent) continue;
        child.pid = static_cast<pid_t>(std::atol(it->path().filename().c_str()));
        children.push_back(child);
    }
    return children;
}

int count_zombie_children(pid_t pid) {
    auto children = children_of(pid);
    return static_cast<int>(std::count_if(children.begin(), children.end(),
                                          [](const ChildProcess& c) { return c.state == 'Z'; }));
}

namespace {

// A "Name:   123 kB" line of /proc/PID/status, in bytes; 0 when unreadable.
uint64_t status_kilobytes(pid_t pid, const std::string& name) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind(name, 0) == 0) return std::stoull(line.substr(name.size())) * 1024;
    }
    return 0;
}

}  // namespace

uint64_t resident_bytes(pid_t pid) {
    return status_kilobytes(pid, "VmRSS:");
}

uint64_t peak_resident_bytes(pid_t pid) {
    return status_kilobytes(pid, "VmHWM:");
}

double cpu_seconds(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::string field;
    // After "pid (comm) ", utime and stime are the 12th and 13th fields.
    for (int i = 0; i < 11; ++i)
        fields >> field;
    unsigned long long user = 0;
    unsigned long long system = 0;
    fields >> user >> system;
    return static_cast<double>(user + system) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace cgihost::testing
