// The physical limit for any CGI server on this machine: how many times per second a program
// can be started with its stdout on a pipe, read to EOF and reaped, with nothing else done.
//
//   spawn_ceiling METHOD PROCESSES SECONDS PROGRAM
//
// METHOD is posix_spawn, vfork or fork. PROCESSES loops run in parallel (one per core is the
// fair comparison with a server using every core). Prints "spawns_per_second=N".
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

enum Method { POSIX_SPAWN, VFORK, FORK };

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char* what) {
    perror(what);
    exit(2);
}

// The child's side for vfork and fork: stdout onto the pipe, then exec.
static void exec_child(int write_end, char* const argv[]) {
    if (dup2(write_end, STDOUT_FILENO) < 0) _exit(126);
    execve(argv[0], argv, environ);
    _exit(127);
}

static pid_t start_child(enum Method method, int write_end, char* const argv[]) {
    pid_t pid = -1;
    if (method == POSIX_SPAWN) {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, write_end, STDOUT_FILENO);
        int error = posix_spawn(&pid, argv[0], &actions, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        if (error != 0) {
            errno = error;
            die("posix_spawn");
        }
    } else {
        pid = method == VFORK ? vfork() : fork();
        if (pid < 0) die("fork");
        if (pid == 0) exec_child(write_end, argv);
    }
    return pid;
}

// One spawn: pipe, start, read to EOF, reap. Returns 0 when the program succeeded.
static int spawn_once(enum Method method, char* const argv[]) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) die("pipe2");
    pid_t pid = start_child(method, pipe_fds[1], argv);
    close(pipe_fds[1]);
    char buffer[4096];
    while (read(pipe_fds[0], buffer, sizeof buffer) > 0) {
    }
    close(pipe_fds[0]);
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) die("waitpid");
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

// Spawns until the deadline; writes the count of successful spawns to result_fd.
static void run_loop(enum Method method, double seconds, char* const argv[], int result_fd) {
    double deadline = now_seconds() + seconds;
    long count = 0, failures = 0;
    while (now_seconds() < deadline) {
        if (spawn_once(method, argv) == 0) {
            ++count;
        } else {
            ++failures;
        }
    }
    if (failures > 0) fprintf(stderr, "spawn_ceiling: %ld runs failed\n", failures);
    if (write(result_fd, &count, sizeof count) != sizeof count) die("write");
}

static enum Method parse_method(const char* name) {
    if (strcmp(name, "posix_spawn") == 0) return POSIX_SPAWN;
    if (strcmp(name, "vfork") == 0) return VFORK;
    if (strcmp(name, "fork") == 0) return FORK;
    fprintf(stderr, "spawn_ceiling: unknown method %s (posix_spawn, vfork, fork)\n", name);
    exit(2);
}

int main(int argc, char* argv[]) {
    if (argc != 5) {
        fprintf(stderr, "usage: spawn_ceiling posix_spawn|vfork|fork PROCESSES SECONDS PROGRAM\n");
        return 2;
    }
    enum Method method = parse_method(argv[1]);
    int processes = atoi(argv[2]);
    double seconds = atof(argv[3]);
    char* child_argv[] = {argv[4], NULL};
    if (processes < 1 || seconds <= 0) return 2;

    int results[2];
    if (pipe(results) != 0) die("pipe");
    double start = now_seconds();
    for (int i = 0; i < processes; ++i) {
        pid_t loop = fork();
        if (loop < 0) die("fork");
        if (loop == 0) {
            close(results[0]);
            run_loop(method, seconds, child_argv, results[1]);
            _exit(0);
        }
    }
    close(results[1]);
    long total = 0, count = 0;
    while (read(results[0], &count, sizeof count) == sizeof count)
        total += count;
    while (wait(NULL) > 0) {
    }
    double elapsed = now_seconds() - start;
    printf("spawns_per_second=%.0f\n", total / elapsed);
    return 0;
}
