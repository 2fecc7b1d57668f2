// One CGI child process: spawned without blocking the loop, with its three pipes, its pidfd
// (readable when it exits, so the owning loop reaps it without SIGCHLD), and its process
// group, so a timeout or a departed client stops everything the script started.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "security/privileges.hpp"
#include "util/unique_fd.hpp"

namespace cgihost {

// Resource limits applied in the child before exec; 0 leaves a limit as inherited.
struct CgiResourceLimits {
    rlim_t cpu_seconds = 0;    // RLIMIT_CPU
    rlim_t address_space = 0;  // RLIMIT_AS, bytes
    rlim_t processes = 0;      // RLIMIT_NPROC (not enforced for root)
    // RLIMIT_NOFILE with the soft limit the server started with, given back to scripts after
    // the server raised its own (rlim_cur 0: leave it): select() and FD_SETSIZE expect the
    // usual limit.
    rlimit open_files{};
};

struct SpawnRequest {
    std::string program;  // executed directly: the script, or its interpreter
    std::vector<std::string> argv;
    std::vector<std::string> envp;  // "NAME=value"
    std::string working_directory;  // RFC 3875 §7.2: the script's directory
    CgiResourceLimits limits;
    // The identity the script runs as (its groups, gid and uid are set in the child before
    // exec); nullptr = the server's own. Must outlive the spawn_cgi call.
    const Identity* run_as = nullptr;
};

class CgiProcess {
  public:
    CgiProcess() = default;
    CgiProcess(CgiProcess&&) noexcept;
    CgiProcess& operator=(CgiProcess&&) noexcept;
    CgiProcess(const CgiProcess&) = delete;
    CgiProcess& operator=(const CgiProcess&) = delete;
    // A child still running is killed (whole group) and reaped, so none outlives its owner.
    ~CgiProcess();

    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0 && !reaped_; }
    UniqueFd& stdin_pipe() { return stdin_; }    // we write the request body here
    UniqueFd& stdout_pipe() { return stdout_; }  // the script's response
    UniqueFd& stderr_pipe() { return stderr_; }  // diagnostics for the error log
    int pidfd() const { return pidfd_.get(); }

    // Sends `signal_number` to the script's whole process group.
    void signal_group(int signal_number) const;
    // Reaps the child if it has exited; never blocks. Returns true once reaped.
    bool try_reap();
    int wait_status() const { return wait_status_; }
    // What the child used, from wait4 once reaped (its own, not its children's unless it
    // waited for them): CPU time in ru_utime + ru_stime, peak resident size in ru_maxrss.
    const rusage& usage() const { return usage_; }

  private:
    friend std::string spawn_cgi(const SpawnRequest& request, CgiProcess& process);
    void kill_and_reap();

    pid_t pid_ = -1;
    bool reaped_ = false;
    int wait_status_ = 0;
    rusage usage_{};
    UniqueFd stdin_;
    UniqueFd stdout_;
    UniqueFd stderr_;
    UniqueFd pidfd_;
};

// Starts the program with stdin/stdout/stderr on pipes whose parent ends are non-blocking
// and close-on-exec. The child gets its own process group, an empty signal mask, default
// dispositions for every signal (SIGPIPE included), no descriptor but 0-2, the working
// directory, the limits and the run_as identity. Returns "" or an error such as "exec failed:
// Permission denied", with errno still that of the failing call (EMFILE when out of descriptors).
std::string spawn_cgi(const SpawnRequest& request, CgiProcess& process);

// "exited with status 3", "killed by signal 11 (Segmentation fault)".
std::string describe_wait_status(int wait_status);

}  // namespace cgihost
