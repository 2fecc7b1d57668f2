// The soak: many clients at once send a long mixed stream of requests (soak_mix.hpp) to the real
// cgihost on 127.0.0.1, then the server must look as it did before: no error along the way,
// every uploaded byte read back identical, no zombie, no script left, as many open descriptors
// as after the warm-up, resident memory within 10 % of what it was after the warm-up, and a
// clean exit on SIGTERM.
//
//   soak [REQUESTS [CONCURRENCY]] [--warmup=N] [--cgi-timeout=S] [--seed=N]
//
// The site is www/ and the built samples, with the scriptable test CGI copied in as cgi-bin/t,
// found through the variables meson test sets (CGIHOST_BIN, CGIHOST_TEST_CGI,
// CGIHOST_SAMPLES_DIR, CGIHOST_WWW_DIR); scripts/soak sets them for a release build.
// Exits 0 when every check passed, 1 when one failed, 2 on bad arguments.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "soak_mix.hpp"
#include "test_server.hpp"

namespace {

using namespace cgihost;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kDefaultRequests = 5000;
constexpr unsigned kDefaultConcurrency = 200;
// Seconds a script may stay silent. Far above what a script needs, because a loaded machine may
// not run a sanitizer build's script for seconds; the cgi_timeout requests wait this long.
constexpr double kDefaultCgiTimeout = 20;
// For the last scripts to be reaped: a hang guard, not a property (a loaded machine may take
// seconds to run a sanitizer build's SIGTERM handling and reaping).
constexpr auto kSettleTimeout = std::chrono::seconds(120);
constexpr int kLogLinesShown = 40;
#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer's shadow memory and its allocator, which never give memory back, grow with
// every address the server touches: under it the resident size is only reported.
constexpr bool kRssOnlyReported = true;
#else
constexpr bool kRssOnlyReported = false;
#endif
#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer's allocator keeps freed chunks in a quarantine and per-size free lists, so
// over a short run its resident size follows a high-water mark (+11 % after 4,000 requests at
// 54 MiB was seen). Leaks are LeakSanitizer's to find at exit here; the 10 % bound holds for
// the release build that scripts/soak runs.
constexpr double kRssTolerance = 0.25;
#else
constexpr double kRssTolerance = 0.10;  // the end may be at most 10 % above the warm-up
#endif
constexpr rlim_t kWantedOpenFiles = 8192;  // clients, plus the server's sockets and pipes

struct Options {
    uint64_t requests = kDefaultRequests;
    unsigned concurrency = kDefaultConcurrency;
    uint64_t warmup = 0;  // 0: a fifth of the requests, at least two per client
    double cgi_timeout = kDefaultCgiTimeout;
    uint64_t seed = 1;
};

std::string required_env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        throw std::runtime_error(std::string(name) + " is not set (see scripts/soak)");
    }
    return value;
}

bool parse_options(int argc, char** argv, Options& options) {
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value_of = [&](const std::string& flag) { return arg.substr(flag.size()); };
        if (arg.rfind("--warmup=", 0) == 0) {
            options.warmup = std::stoull(value_of("--warmup="));
        } else if (arg.rfind("--cgi-timeout=", 0) == 0) {
            options.cgi_timeout = std::stod(value_of("--cgi-timeout="));
        } else if (arg.rfind("--seed=", 0) == 0) {
            options.seed = std::stoull(value_of("--seed="));
        } else if (!arg.empty() && arg[0] != '-') {
            positional.push_back(arg);
        } else {
            return false;
        }
    }
    if (positional.size() > 2) return false;
    if (!positional.empty()) options.requests = std::stoull(positional[0]);
    if (positional.size() > 1)
        options.concurrency = static_cast<unsigned>(std::stoul(positional[1]));
    if (options.warmup == 0) {
        options.warmup = std::max<uint64_t>(options.requests / 5, 2ull * options.concurrency);
    }
    return options.requests > 0 && options.concurrency > 0 && options.cgi_timeout > 0;
}

// Clients and the server's sockets and pipes need more than the usual 1024 descriptors.
void raise_open_file_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    rlim_t wanted = limit.rlim_max == RLIM_INFINITY ? kWantedOpenFiles
                                                    : std::min(kWantedOpenFiles, limit.rlim_max);
    if (limit.rlim_cur < wanted) {
        limit.rlim_cur = wanted;
        (void)setrlimit(RLIMIT_NOFILE, &limit);
    }
}

// glibc keeps freed memory in its arenas, so the server's resident size is the high-water mark
// of the bodies it happened to hold at once (up to a MiB for each of 200 clients), not what it
// still holds. Large blocks from mmap go back to the system when freed; then RSS after the
// run compares what the server keeps, which is what a leak would change.
void return_large_blocks_to_system() {
    if (std::getenv("GLIBC_TUNABLES") == nullptr) {
        (void)setenv("GLIBC_TUNABLES",
                     "glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=131072", 1);
    }
}

// AddressSanitizer keeps freed memory in a 256 MiB quarantine before reusing it, which would read
// as growth of the server's resident memory; a small one keeps the memory check meaningful. The
// server inherits our environment (the scripts do not: the server builds theirs).
void shrink_sanitizer_quarantine() {
#if defined(__SANITIZE_ADDRESS__)
    const char* current = std::getenv("ASAN_OPTIONS");
    std::string options = current != nullptr ? current : "";
    if (options.find("quarantine_size_mb") != std::string::npos) return;
    options += std::string(options.empty() ? "" : ":") + "quarantine_size_mb=4";
    (void)setenv("ASAN_OPTIONS", options.c_str(), 1);
#endif
}

// The site's cgi-bin: every built sample plus the scriptable test CGI as `t`.
void install_cgi_programs(const std::filesystem::path& cgi_bin) {
    namespace fs = std::filesystem;
    fs::create_directories(cgi_bin);
    for (const auto& entry : fs::directory_iterator(required_env("CGIHOST_SAMPLES_DIR"))) {
        bool executable = (entry.status().permissions() & fs::perms::owner_exec) != fs::perms::none;
        if (entry.is_regular_file() && executable) {
            fs::copy_file(entry.path(), cgi_bin / entry.path().filename());
        }
    }
    fs::copy_file(testing::test_cgi_binary(), cgi_bin / "t");
}

// Every file of www/, by URL path, for the static requests to compare against.
std::vector<std::pair<std::string, std::string>> read_static_files(const std::string& www) {
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto& entry : std::filesystem::directory_iterator(www)) {
        if (!entry.is_regular_file() || entry.file_size() == 0) continue;
        files.emplace_back("/" + entry.path().filename().string(),
                           testing::read_file(entry.path()));
    }
    if (files.empty()) throw std::runtime_error("no files in " + www);
    return files;
}

// ---- Watching the server -----------------------------------------------------------------

// The server hands freed heap memory back to the system every few seconds (malloc_trim), so
// its settled size is the smallest one seen over two of those intervals: one trim may come
// late on a loaded machine, and then the next one still counts.
uint64_t settled_resident_kib(pid_t pid) {
    constexpr auto kTrimInterval = std::chrono::seconds(5);  // src/server.cpp
    const auto until = Clock::now() + 2 * kTrimInterval + std::chrono::seconds(1);
    uint64_t smallest = testing::resident_bytes(pid) / 1024;
    while (Clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        const uint64_t now = testing::resident_bytes(pid) / 1024;
        if (now != 0) smallest = std::min(smallest, now);
    }
    return smallest;
}

template <typename Condition>
bool wait_for(Condition condition, Clock::duration timeout) {
    auto deadline = Clock::now() + timeout;
    while (!condition()) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
}

// Waits until the server has no child left (scripts of departed clients are being stopped),
// then a little more for the last descriptors and buffers to be let go. Descriptors are then
// compared with <=, so one not yet let go can only loosen the baseline, never fail the end.
bool settle(pid_t server) {
    bool idle = wait_for([&] { return testing::children_of(server).empty(); }, kSettleTimeout);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    return idle;
}

// ---- Running the clients -----------------------------------------------------------------

struct PhaseResult {
    soak::Tally tally;
    double seconds = 0;
};

// `concurrency` clients, each on its own thread, until `requests` requests were sent.
PhaseResult run_phase(const soak::Site& site, uint64_t requests, unsigned concurrency,
                      uint64_t seed) {
    std::atomic<uint64_t> sent{0};
    std::vector<soak::Tally> tallies(concurrency);
    std::vector<std::thread> threads;
    auto started = Clock::now();
    for (unsigned i = 0; i < concurrency; ++i) {
        threads.emplace_back([&, i] {
            soak::Client client(site, seed * 100003 + i, static_cast<int>(i));
            while (sent.load() < requests)
                sent += static_cast<uint64_t>(client.run_one());
            tallies[i] = client.tally();
        });
    }
    for (auto& thread : threads)
        thread.join();
    PhaseResult result;
    result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    for (const auto& tally : tallies)
        result.tally.add(tally);
    return result;
}

void print_tally(const PhaseResult& phase, unsigned concurrency) {
    const soak::Tally& tally = phase.tally;
    std::printf("soak: %llu requests in %.1f s (%.0f req/s) from %u clients on %llu connections\n",
                static_cast<unsigned long long>(tally.total_requests()), phase.seconds,
                static_cast<double>(tally.total_requests()) / phase.seconds, concurrency,
                static_cast<unsigned long long>(tally.connections));
    for (size_t i = 0; i < soak::kKindCount; ++i) {
        std::printf("  %-15s %8llu requests %6llu errors\n",
                    std::string(soak::kind_name(static_cast<soak::Kind>(i))).c_str(),
                    static_cast<unsigned long long>(tally.requests[i]),
                    static_cast<unsigned long long>(tally.errors[i]));
    }
    std::printf("  uploads read back identical: %llu bytes\n",
                static_cast<unsigned long long>(tally.uploaded_bytes));
    for (const std::string& error : tally.first_errors)
        std::printf("  error: %s\n", error.c_str());
}

// What the server logs about the scripts that fail on purpose (cgi_crash).
bool is_deliberate_fault(const std::string& line) {
    // The cgi_timeout kind's scripts hang on purpose: "no output for N s" is their line.
    for (const char* expected : {"script produced no output", "killed by signal 6 ",
                                 "killed by signal 11 ", "exited with status 3", "no output for"}) {
        if (line.find(expected) != std::string::npos) return true;
    }
    return false;
}

// The server's warnings and errors, for a run that failed; at most kLogLinesShown of them.
void print_log_problems(const std::string& log) {
    std::istringstream lines(log);
    std::string line;
    int shown = 0;
    while (std::getline(lines, line) && shown < kLogLinesShown) {
        bool problem =
            line.find("[error]") != std::string::npos || line.find("[warn]") != std::string::npos;
        if (problem && !is_deliberate_fault(line)) {
            std::printf("  log: %s\n", line.c_str());
            ++shown;
        }
    }
}

// Records a check's outcome in the report; returns whether it passed.
bool check(bool passed, const std::string& what) {
    std::printf("  [%s] %s\n", passed ? "ok" : "FAILED", what.c_str());
    return passed;
}

int soak_main(const Options& options) {
    raise_open_file_limit();
    shrink_sanitizer_quarantine();
    return_large_blocks_to_system();
    testing::TempDir site_dir;
    testing::TempDir data_dir;
    data_dir.let_anyone_write();  // started as root, the samples run as a user of their own
    install_cgi_programs(site_dir / "cgi-bin");
    const std::string www = required_env("CGIHOST_WWW_DIR");
    std::ostringstream timeout;
    timeout << options.cgi_timeout;
    testing::TestServer server({"--docroot", www, "--cgi-dir", site_dir.file("cgi-bin"),
                                "--cgi-timeout", timeout.str(), "--cgi-kill-grace", "0.5",
                                "--cgi-env-set", "CGIHOST_DATA_DIR=" + data_dir.path().string(),
                                "--cgi-env-set", "CGIHOST_CHAT_WAIT=1",
                                // Every upload has a name of its own and stays: the long soak
                                // stores some 5,600, past upload's default quota of 1,000.
                                "--cgi-env-set", "CGIHOST_UPLOAD_QUOTA_FILES=1000000",
                                "--cgi-env-set", "CGIHOST_UPLOAD_QUOTA=1000000000000",
                                // Its 200 clients all come from 127.0.0.1.
                                "--cgi-max-per-client", "0"});
    const pid_t pid = server.pid();
    soak::Site site{server.port(), read_static_files(www), options.cgi_timeout};
    const int fds_at_start = testing::count_open_fds(pid);

    std::printf("soak: warm-up, %llu requests\n", static_cast<unsigned long long>(options.warmup));
    PhaseResult warmup = run_phase(site, options.warmup, options.concurrency, options.seed);
    for (const std::string& error : warmup.tally.first_errors)
        std::printf("  warm-up error: %s\n", error.c_str());
    bool settled = settle(pid);
    const int fds_warm = testing::count_open_fds(pid);
    const uint64_t rss_warm = settled_resident_kib(pid);

    PhaseResult run = run_phase(site, options.requests, options.concurrency, options.seed + 1);
    print_tally(run, options.concurrency);
    settled = settle(pid) && settled;
    bool fds_back =
        wait_for([&] { return testing::count_open_fds(pid) <= fds_warm; }, kSettleTimeout);
    const int fds_end = testing::count_open_fds(pid);
    const uint64_t rss_end = settled_resident_kib(pid);
    const int zombies = testing::count_zombie_children(pid);
    const double growth = static_cast<double>(rss_end) / static_cast<double>(rss_warm) - 1;

    bool ok = true;
    ok &= check(warmup.tally.total_errors() == 0,
                std::to_string(warmup.tally.total_errors()) + " unexpected errors in the warm-up");
    ok &= check(run.tally.total_errors() == 0,
                std::to_string(run.tally.total_errors()) + " unexpected errors in the run");
    const size_t children_left = testing::children_of(pid).size();
    ok &= check(settled && children_left == 0, std::to_string(children_left) + " children left");
    ok &= check(zombies == 0, std::to_string(zombies) + " zombie children");
    ok &= check(fds_back, "open descriptors: " + std::to_string(fds_at_start) + " at start, " +
                              std::to_string(fds_warm) + " after warm-up, " +
                              std::to_string(fds_end) + " at the end");
    char rss[160];
    std::snprintf(
        rss, sizeof rss, "resident memory: %.1f MiB after warm-up, %.1f MiB at the end (%+.1f %%)",
        static_cast<double>(rss_warm) / 1024, static_cast<double>(rss_end) / 1024, growth * 100);
    ok &= check((rss_warm > 0 && growth <= kRssTolerance) || kRssOnlyReported, rss);
    int exit_status = server.stop(SIGTERM);  // a hang guard of 60 s
    if (!ok) print_log_problems(server.error_log());
    // The whole log, for a failure that its warnings do not explain.
    if (const char* path = std::getenv("CGIHOST_SOAK_LOG"); path != nullptr && *path != '\0') {
        std::ofstream(path) << server.error_log();
        std::ofstream(std::string(path) + ".access") << server.access_log();
    }
    ok &= check(exit_status == 0, "exit status after SIGTERM: " + std::to_string(exit_status));
    std::printf("soak: %s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    try {
        if (!parse_options(argc, argv, options)) {
            std::fprintf(stderr,
                         "usage: soak [REQUESTS [CONCURRENCY]] [--warmup=N] [--cgi-timeout=S] "
                         "[--seed=N]\n");
            return 2;
        }
        std::setvbuf(stdout, nullptr, _IOLBF, 0);
        return soak_main(options);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "soak: %s\n", error.what());
        return 1;
    }
}
