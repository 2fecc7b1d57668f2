// background: answers at once and goes on working after the response has been sent.
//
//   POST background           starts a job: 202 and a link to its status; 403 when the POST
//                             came from a page of another site, 503 when enough jobs run
//   GET  background?job=ID    "still running", or the job's result
//   GET  background           a page with the button that starts one
//
// Only a POST starts a job, never a GET: an <img src> on any site could otherwise make its
// visitors' browsers start jobs here. The POST must come from this server's own pages (Origin,
// see support/same_origin.hpp), at most CGIHOST_JOB_MAX_RUNNING (4) jobs run at once, and each
// start removes the files of jobs that ended more than CGIHOST_JOB_EXPIRE_SECONDS (3600) ago.
//
// Shows how a CGI program ends its response early: the server ends the response when the
// program's stdout reaches EOF, not when the program exits. So the program writes the whole
// page (with its Content-Length), points stdin and stdout at /dev/null, and keeps working:
// the client already has its answer. There is no fork and no setsid: the job stays in the
// process group the server watches, the server reaps it, and cgi-max-time (300 s by default)
// still bounds it. stderr stays open, so anything it reports still reaches the error log.
//
// The job stands in for slow work (a report, a conversion): it counts the primes below one
// million in steps, paced to take CGIHOST_JOB_SECONDS (default 5) seconds. Its state lives in
// <data>/jobs/<ID>, which is always replaced whole (temporary file + rename), so a status
// request sees the old state or the new one, never half a file. Starts take flock(2) on
// <data>/jobs/.lock, so two of them cannot both see the last free place.
#include <cgicc/Cgicc.h>
#include <cgicc/HTTPContentHeader.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>

#include "data_files.hpp"
#include "html.hpp"
#include "request.hpp"
#include "same_origin.hpp"

namespace {

constexpr double kDefaultJobSeconds = 5;  // CGIHOST_JOB_SECONDS overrides
// Below the server's default cgi-max-time of 300 s, which would otherwise stop the job.
constexpr double kMaxJobSeconds = 240;
// A job still "running" this long after it should have ended was stopped (by the server's
// cgi-max-time, a restart, a crash) and will never finish.
constexpr int64_t kLostAfterSeconds = 60;
constexpr double kDefaultMaxRunning = 4;        // CGIHOST_JOB_MAX_RUNNING overrides
constexpr double kDefaultExpireSeconds = 3600;  // CGIHOST_JOB_EXPIRE_SECONDS overrides
constexpr double kMostExpireSeconds = 366 * 24 * 3600;
// A temporary state file lives for the moment of a rename; one older than this was left by a
// job killed while it saved.
constexpr int64_t kStrayTemporarySeconds = 600;
constexpr size_t kIdBytes = 16;  // 128 random bits: ids cannot be guessed or enumerated
constexpr uint32_t kPrimeLimit = 1'000'000;
constexpr int kStepsPerSecond = 10;

using samples::RequestError;
using JobState = std::map<std::string, std::string>;

double job_seconds() {
    return samples::env_setting("CGIHOST_JOB_SECONDS", kDefaultJobSeconds, 0, kMaxJobSeconds);
}

std::string random_id() {
    unsigned char bytes[kIdBytes];
    if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
        throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id;
    for (unsigned char byte : bytes) {
        id += kHex[byte >> 4];
        id += kHex[byte & 0xF];
    }
    return id;
}

bool is_job_id(const std::string& text) {
    return text.size() == 2 * kIdBytes && std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::filesystem::path job_file(const std::string& id) {
    return samples::data_subdirectory("jobs") / id;
}

// The state file is "key=value" lines; values never hold a newline.
void save_state(const std::string& id, const JobState& state) {
    std::string text;
    for (const auto& [key, value] : state) {
        text += key + '=' + value + '\n';
    }
    samples::replace_file(job_file(id), text);
}

std::optional<JobState> load_state(const std::string& id) {
    std::ifstream file(samples::data_directory() / "jobs" / id);
    if (!file) return std::nullopt;
    JobState state;
    for (std::string line; std::getline(file, line);) {
        size_t equals = line.find('=');
        if (equals != std::string::npos) state[line.substr(0, equals)] = line.substr(equals + 1);
    }
    return state;
}

int64_t now() {
    return static_cast<int64_t>(std::time(nullptr));
}

// "running", "done", "failed", or "lost": a job still "running" this long after it should have
// ended was stopped (by the server's cgi-max-time, a restart, a crash) and will never finish.
std::string phase_of(JobState& state) {
    int64_t due = std::atoll(state["started"].c_str()) + std::atoll(state["seconds"].c_str());
    if (state["state"] == "running" && now() > due + kLostAfterSeconds) return "lost";
    return state["state"];
}

// ---- Admission ------------------------------------------------------------------------------

// Holds flock(2) on <data>/jobs/.lock until destroyed.
class JobsLock {
  public:
    explicit JobsLock(const std::filesystem::path& directory) {
        fd_.reset(::open((directory / ".lock").c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644));
        if (!fd_) throw std::system_error(errno, std::generic_category(), "open jobs lock");
        while (::flock(fd_.get(), LOCK_EX) != 0) {
            if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "flock");
        }
    }

  private:
    samples::FileDescriptor fd_;
};

int64_t age_seconds(const std::filesystem::directory_entry& entry) {
    struct stat info {};
    if (::stat(entry.path().c_str(), &info) != 0) return 0;
    return now() - static_cast<int64_t>(info.st_mtime);
}

// Removes what ended long enough ago (a finished job's file is last written when it ends) and
// stray temporary files; returns how many jobs are still running. Call it under JobsLock.
int tidy_jobs(const std::filesystem::path& directory) {
    const auto expire_after = static_cast<int64_t>(samples::env_setting(
        "CGIHOST_JOB_EXPIRE_SECONDS", kDefaultExpireSeconds, 0, kMostExpireSeconds));
    int running = 0;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
        std::string name = entry.path().filename().string();
        if (name.starts_with(".tmp-") && age_seconds(entry) >= kStrayTemporarySeconds) {
            std::filesystem::remove(entry.path(), error);
        }
        if (!is_job_id(name)) continue;
        std::optional<JobState> state = load_state(name);
        if (!state) continue;  // removed meanwhile
        if (phase_of(*state) == "running") {
            ++running;
        } else if (age_seconds(entry) >= expire_after) {
            std::filesystem::remove(entry.path(), error);
        }
    }
    return running;
}

// ---- The job --------------------------------------------------------------------------------

bool is_prime(uint32_t n) {
    if (n < 2) return false;
    for (uint32_t divisor = 2; divisor * divisor <= n; ++divisor) {
        if (n % divisor == 0) return false;
    }
    return true;
}

// Counts the primes below kPrimeLimit in equal steps, sleeping between them so the whole job
// takes `seconds`; the state file shows the progress once per second.
void run_job(const std::string& id, JobState state, double seconds) {
    using Clock = std::chrono::steady_clock;
    const int steps = std::max(1, static_cast<int>(seconds * kStepsPerSecond));
    const auto start = Clock::now();
    uint32_t primes = 0;
    for (int step = 0; step < steps; ++step) {
        uint64_t from = uint64_t{kPrimeLimit} * step / steps;
        uint64_t to = uint64_t{kPrimeLimit} * (step + 1) / steps;
        for (uint64_t n = from; n < to; ++n) {
            primes += is_prime(static_cast<uint32_t>(n));
        }
        std::this_thread::sleep_until(start +
                                      std::chrono::duration<double>(seconds) * (step + 1) / steps);
        if ((step + 1) % kStepsPerSecond == 0 && step + 1 < steps) {
            state["progress"] = std::to_string(100 * (step + 1) / steps);
            save_state(id, state);
        }
    }
    state["state"] = "done";
    state["progress"] = "100";
    state["finished"] = std::to_string(now());
    state["result"] = "There are " + std::to_string(primes) + " primes below " +
                      std::to_string(kPrimeLimit) + ".";
    save_state(id, state);
}

// From here on nothing may reach the client: the server ends the response at stdout's EOF.
// /dev/null takes the place of stdin and stdout, so a stray write cannot land in a file that
// happened to get descriptor 0 or 1.
void end_response() {
    std::cout.flush();
    std::fflush(stdout);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) {  // plain close(2) still ends the response
        ::close(STDIN_FILENO);
        ::close(STDOUT_FILENO);
        return;
    }
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::close(null);
}

// Saves the new job's first state, or throws 503 when the most jobs allowed at once run: each
// holds a process (and here a CPU) for seconds, so a burst of starts must not pile them up.
void admit_job(const std::string& id, const JobState& state, double seconds) {
    const auto most = static_cast<int>(
        samples::env_setting("CGIHOST_JOB_MAX_RUNNING", kDefaultMaxRunning, 1, 1000));
    std::filesystem::path directory = samples::data_subdirectory("jobs");
    JobsLock lock(directory);
    if (tidy_jobs(directory) >= most) {
        // The earliest a place can free up: when the newest running job should end.
        std::string retry = std::to_string(std::max<int64_t>(1, static_cast<int64_t>(seconds)));
        throw RequestError(503, "Service Unavailable",
                           std::to_string(most) +
                               " jobs are running, the most this server runs at once. Try again "
                               "in " +
                               retry + " seconds.",
                           {{"Retry-After", retry}});
    }
    save_state(id, state);
}

void start_job() {
    samples::require_same_origin();
    const std::string id = random_id();
    const double seconds = job_seconds();
    JobState state{{"state", "running"},
                   {"started", std::to_string(now())},
                   {"seconds", std::to_string(static_cast<int64_t>(seconds + 0.999))},
                   {"progress", "0"}};
    admit_job(id, state, seconds);

    std::ostringstream page;
    samples::page_start("Job accepted", page);
    page << "<p>The job <code>" << id << "</code> is running in the background; it takes about "
         << state["seconds"] << " seconds.</p>\n"
         << "<p><a href=\"background?job=" << id << "\">See its status</a></p>\n";
    samples::page_end(page);
    std::string body = page.str();
    // 202: accepted for processing, not done (RFC 9110 §15.3.3).
    std::cout << "Status: 202 Accepted\n"
              << "Content-Type: " << samples::kHtmlContentType << "\n"
              << "Content-Length: " << body.size() << "\n\n"
              << body;
    end_response();
    try {
        run_job(id, state, seconds);
    } catch (const std::exception& error) {
        std::cerr << "background: job " << id << " failed: " << error.what() << '\n';
        state["state"] = "failed";
        save_state(id, state);
    }
}

// ---- Pages ----------------------------------------------------------------------------------

void send_status(const std::string& id) {
    if (!is_job_id(id)) {
        throw RequestError(400, "Bad Request", "A job id is 32 lower-case hexadecimal digits.");
    }
    std::optional<JobState> state = load_state(id);
    if (!state) {
        throw RequestError(404, "Not Found",
                           "There is no job with that id: it never was, or it ended long ago "
                           "and its result was removed.");
    }
    std::string phase = phase_of(*state);
    if (phase == "running") std::cout << "Refresh: 1\n";  // the browser asks again in a second
    std::cout << "Cache-Control: no-store\n" << cgicc::HTTPContentHeader(samples::kHtmlContentType);
    samples::page_start("Job " + id.substr(0, 8));
    if (phase == "running") {
        std::cout << "<p class=\"job running\">Still running: "
                  << samples::escape_html((*state)["progress"])
                  << "% done. This page reloads itself.</p>\n";
    } else if (phase == "done") {
        std::cout << "<p class=\"job done\">Finished. " << samples::escape_html((*state)["result"])
                  << "</p>\n";
    } else {
        std::cout << "<p class=\"job failed\">The job stopped before it finished.</p>\n";
    }
    std::cout << "<p><a href=\"/background.html\">Start another job</a></p>\n";
    samples::page_end();
}

void send_start_page() {
    std::cout << cgicc::HTTPContentHeader(samples::kHtmlContentType);
    samples::page_start("Background job");
    std::cout << "<p>The response comes back at once; the work goes on after it. Jobs start "
                 "only from this button, which sends a POST.</p>\n"
                 "<form method=\"post\" action=\"background\">"
                 "<button type=\"submit\">Start a job</button></form>\n";
    samples::page_end();
}

void handle_request() {
    samples::require_method({"GET", "HEAD", "POST"});
    cgicc::Cgicc form = samples::read_form();
    if (std::strcmp(std::getenv("REQUEST_METHOD"), "POST") == 0) return start_job();
    if (auto job = form.getElement("job"); job != form.getElements().end()) {
        return send_status(job->getValue());
    }
    // Anything else, the old "?start=1" included, only shows the form: a GET must stay free
    // of side effects (RFC 9110 §9.2.1), or any page could start jobs with an <img>.
    send_start_page();
}

}  // namespace

int main() {
    try {
        handle_request();
    } catch (const RequestError& error) {
        samples::send_error_page(error);
    } catch (const std::exception& error) {
        std::cerr << "background: " << error.what() << '\n';
        samples::send_error_page(500, "Internal Server Error", "The job could not be started.");
    }
}
