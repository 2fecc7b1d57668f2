#include "cgi/cgi_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace cgihost {
namespace {

// Everything the child needs, prepared before vfork: after it, the child may only make
// async-signal-safe system calls, because it borrows the parent's memory and stack.
struct ChildSetup {
    const int* signals_to_reset;  // ends with 0
    const char* program;
    char* const* argv;
    char* const* envp;
    const char* working_directory;
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;
    CgiResourceLimits limits;
    volatile int* exec_errno;
    pid_t server_pid;
    const Identity* run_as;  // nullptr: stay the server's user
};

void apply_limit(int resource, rlim_t value) {
    if (value == 0) return;
    struct rlimit limit {
        value, value
    };
    ::setrlimit(resource, &limit);
}

// Becomes `who` for good. glibc's setuid() & co. would signal every thread of the server
// (a vfork child shares its memory and thread list) to change them all; the raw system calls
// change this process alone. The server holds CAP_SETUID/CAP_SETGID in its permitted set
// only: raise them for these three calls, then clear every capability (execve would also
// clear them for a non-root user, but nothing should depend on that).
bool take_identity(const Identity& who) {
    return set_capabilities(kKeptCapabilities, kSetIdCapabilities) == 0 &&
           ::syscall(SYS_setgroups, who.groups.size(), who.groups.data()) == 0 &&
           ::syscall(SYS_setresgid, who.gid, who.gid, who.gid) == 0 &&
           ::syscall(SYS_setresuid, who.uid, who.uid, who.uid) == 0 && set_capabilities(0, 0) == 0;
}

[[noreturn]] void run_child(const ChildSetup& setup) {
    ::setpgid(0, 0);
    // Before PR_SET_PDEATHSIG: the kernel clears that setting when the credentials change.
    if (setup.run_as != nullptr && !take_identity(*setup.run_as)) {
        *setup.exec_errno = errno;
        ::_exit(127);
    }
    // A server that is killed outright (SIGKILL, a crash) cannot stop its scripts; the kernel
    // does it for us. The script's own children are not affected (fork clears the setting),
    // so a job a script detaches on purpose lives on. If the server died before the prctl
    // took effect, nobody would ever signal us: leave at once.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != setup.server_pid) ::_exit(127);
    ::dup2(setup.stdin_fd, STDIN_FILENO);
    ::dup2(setup.stdout_fd, STDOUT_FILENO);
    ::dup2(setup.stderr_fd, STDERR_FILENO);
    ::close_range(3, ~0U, 0);  // nothing of the server's leaks into the script
    sigset_t empty;
    sigemptyset(&empty);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (const int* signal_number = setup.signals_to_reset; *signal_number != 0; ++signal_number) {
        ::sigaction(*signal_number, &default_action, nullptr);
    }
    apply_limit(RLIMIT_CPU, setup.limits.cpu_seconds);
    apply_limit(RLIMIT_AS, setup.limits.address_space);
    apply_limit(RLIMIT_NPROC, setup.limits.processes);
    if (setup.limits.open_files.rlim_cur != 0) ::setrlimit(RLIMIT_NOFILE, &setup.limits.open_files);
    if (::chdir(setup.working_directory) == 0) {
        ::execve(setup.program, setup.argv, setup.envp);
    }
    *setup.exec_errno = errno;
    ::_exit(127);
}

// The signals whose disposition is not SIG_DFL in the server, followed by 0. execve resets
// caught signals by itself but keeps ignored ones (SIGPIPE), and until execve a handler
// would run on the server's borrowed stack; so the child resets exactly these and nothing
// else — one system call each instead of one for each of the 64 signals. The server sets
// its dispositions once at startup, before any worker spawns a script, so the list is
// taken once, on the first spawn.
const int* signals_to_reset() {
    static const std::vector<int> signals = [] {
        std::vector<int> found;
        for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
            struct sigaction current {};
            if (::sigaction(signal_number, nullptr, &current) != 0) continue;
            bool is_default = (current.sa_flags & SA_SIGINFO) == 0 && current.sa_handler == SIG_DFL;
            if (!is_default) found.push_back(signal_number);
        }
        found.push_back(0);
        return found;
    }();
    return signals.data();
}

std::vector<char*> to_pointers(const std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    pointers.reserve(strings.size() + 1);
    for (const auto& s : strings)
        pointers.push_back(const_cast<char*>(s.c_str()));
    pointers.push_back(nullptr);
    return pointers;
}

struct Pipe {
    UniqueFd read_end;
    UniqueFd write_end;
};

bool make_pipe(Pipe& p) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    p.read_end.reset(fds[0]);
    p.write_end.reset(fds[1]);
    return true;
}

// The pipe was created with no status flags but O_CLOEXEC (a descriptor flag, which F_SETFL
// does not touch), so there is nothing to read back and merge first.
void set_nonblocking(int fd) {
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
}

}  // namespace

CgiProcess::CgiProcess(CgiProcess&& other) noexcept {
    *this = std::move(other);
}

CgiProcess& CgiProcess::operator=(CgiProcess&& other) noexcept {
    if (this != &other) {
        kill_and_reap();
        pid_ = std::exchange(other.pid_, -1);
        reaped_ = other.reaped_;
        wait_status_ = other.wait_status_;
        usage_ = other.usage_;
        stdin_ = std::move(other.stdin_);
        stdout_ = std::move(other.stdout_);
        stderr_ = std::move(other.stderr_);
        pidfd_ = std::move(other.pidfd_);
    }
    return *this;
}

CgiProcess::~CgiProcess() {
    kill_and_reap();
}

void CgiProcess::kill_and_reap() {
    if (!running()) return;
    signal_group(SIGKILL);
    // SIGKILL cannot be caught, so this wait is short; it only happens when the owner is
    // torn down early (server shutdown), never on the request path.
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
}

void CgiProcess::signal_group(int signal_number) const {
    if (!running()) return;
    // The group may already be gone while the leader is an unreaped zombie: then signal
    // the pid itself, which is harmless.
    if (::kill(-pid_, signal_number) != 0) ::kill(pid_, signal_number);
}

bool CgiProcess::try_reap() {
    if (pid_ <= 0 || reaped_) return reaped_;
    int status = 0;
    rusage usage{};
    pid_t done = ::wait4(pid_, &status, WNOHANG, &usage);
    if (done == pid_) {
        reaped_ = true;
        wait_status_ = status;
        usage_ = usage;
    }
    return reaped_;
}

std::string spawn_cgi(const SpawnRequest& request, CgiProcess& process) {
    Pipe in;
    Pipe out;
    Pipe err;
    if (!make_pipe(in) || !make_pipe(out) || !make_pipe(err)) {
        return std::string("cannot create pipes: ") + std::strerror(errno);
    }
    auto argv = to_pointers(request.argv);
    auto envp = to_pointers(request.envp);
    volatile int exec_errno = 0;
    const ChildSetup setup{signals_to_reset(),
                           request.program.c_str(),
                           argv.data(),
                           envp.data(),
                           request.working_directory.c_str(),
                           in.read_end.get(),
                           out.write_end.get(),
                           err.write_end.get(),
                           request.limits,
                           &exec_errno,
                           ::getpid(),
                           request.run_as};
    // vfork: the parent resumes only once the child has exec'd or exited, which is also
    // how an exec failure reaches us (through exec_errno) before we answer the client.
    // The child only makes async-signal-safe system calls before execve or _exit (run_child).
    pid_t pid = ::vfork();           // NOLINT(clang-analyzer-security.insecureAPI.vfork)
    if (pid == 0) run_child(setup);  // NOLINT(clang-analyzer-unix.Vfork)
    if (pid < 0) return std::string("cannot fork: ") + std::strerror(errno);
    // The child's change of user reset the memory it shared with us to the system's
    // fs.suid_dumpable; we stay non-dumpable whatever that is.
    if (request.run_as != nullptr) (void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    process = CgiProcess();
    process.pid_ = pid;
    if (exec_errno != 0) {
        process.kill_and_reap();
        errno = exec_errno;
        return std::string("exec failed: ") + std::strerror(exec_errno);
    }
    process.pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!process.pidfd_) {
        // Without its pidfd no loop would notice the child exit: stop it now (it has only
        // just exec'd), and keep errno for the caller (EMFILE when out of descriptors).
        const int pidfd_errno = errno;
        process.kill_and_reap();
        errno = pidfd_errno;
        return std::string("pidfd_open failed: ") + std::strerror(pidfd_errno);
    }
    process.stdin_ = std::move(in.write_end);
    process.stdout_ = std::move(out.read_end);
    process.stderr_ = std::move(err.read_end);
    set_nonblocking(process.stdin_.get());
    set_nonblocking(process.stdout_.get());
    set_nonblocking(process.stderr_.get());
    return {};
}

std::string describe_wait_status(int wait_status) {
    if (WIFEXITED(wait_status))
        return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
    if (WIFSIGNALED(wait_status)) {
        int signal_number = WTERMSIG(wait_status);
        return "killed by signal " + std::to_string(signal_number) + " (" +
               strsignal(signal_number) + ")";
    }
    return "ended with wait status " + std::to_string(wait_status);
}

}  // namespace cgihost
