// The limits of the samples that keep state (issue 12, items 7 and 8), through the real server:
// chat's room stays bounded, a reader reads only what is new, a long poll survives rotation and
// backs off without inotify; background starts jobs only from a same-origin POST, caps the
// jobs running at once and removes old job files.
#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "test_server.hpp"

namespace cgihost::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using HeaderList = std::vector<std::pair<std::string, std::string>>;
using Settings = std::map<std::string, std::string>;
using Clock = std::chrono::steady_clock;

constexpr const char* kJson = "application/json";

std::string directory_from_env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        throw std::runtime_error(std::string(name) + " is not set; run the tests with meson test");
    }
    return value;
}

// The ids of a chat answer's messages, in order. The chat writes no '{"id":' inside strings:
// a quote in a message is escaped.
std::vector<uint64_t> message_ids(const std::string& json) {
    std::vector<uint64_t> ids;
    for (size_t at = json.find("{\"id\":"); at != std::string::npos;
         at = json.find("{\"id\":", at + 1)) {
        ids.push_back(std::stoull(json.substr(at + 6)));
    }
    return ids;
}

uint64_t last_id(const std::string& json) {
    size_t at = json.rfind("\"last_id\":");
    return at == std::string::npos ? UINT64_MAX : std::stoull(json.substr(at + 10));
}

std::vector<uint64_t> id_range(uint64_t first, uint64_t last) {
    std::vector<uint64_t> ids;
    for (uint64_t id = first; id <= last; ++id) {
        ids.push_back(id);
    }
    return ids;
}

// A "Name: value" line of /proc/<pid>/status or /proc/<pid>/io as a number; -1 when missing.
int64_t proc_number(pid_t pid, const std::string& file, const std::string& name) {
    std::ifstream in("/proc/" + std::to_string(pid) + '/' + file);
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with(name + ':')) return std::stoll(line.substr(name.size() + 1));
    }
    return -1;
}

bool is_sleeping_in_poll(pid_t pid) {
    std::ifstream wchan("/proc/" + std::to_string(pid) + "/wchan");
    std::string where;
    std::getline(wchan, where);
    return where.find("poll") != std::string::npos;
}

// A uid and gid of no account, private to this test process: limits that the kernel counts
// per user (inotify instances) can then be used up without touching anyone else.
uid_t private_uid() {
    return static_cast<uid_t>(3'000'000 + ::getpid() % 1'000'000);
}

// A child process, running as `uid`, that holds every inotify instance the kernel allows that
// user (fs.inotify.max_user_instances) until it is destroyed.
class InotifyHog {
  public:
    explicit InotifyHog(uid_t uid) {
        int ready[2];
        if (::pipe(ready) != 0) throw std::runtime_error("pipe");
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(ready[0]);
            if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 ||
                ::setresuid(uid, uid, uid) != 0) {
                ::_exit(1);
            }
            int held = 0;
            while (held < 100'000 && ::inotify_init1(IN_CLOEXEC) >= 0) {
                ++held;
            }
            char result = errno == EMFILE && held > 0 ? 'y' : 'n';
            (void)::write(ready[1], &result, 1);
            ::pause();
            ::_exit(0);
        }
        ::close(ready[1]);
        char result = 'n';
        exhausted_ = ::read(ready[0], &result, 1) == 1 && result == 'y';
        ::close(ready[0]);
    }
    ~InotifyHog() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    InotifyHog(const InotifyHog&) = delete;
    InotifyHog& operator=(const InotifyHog&) = delete;

    bool exhausted() const { return exhausted_; }

  private:
    pid_t pid_ = -1;
    bool exhausted_ = false;
};

class SampleLimits : public ::testing::Test {
  protected:
    void SetUp() override { data_.let_anyone_write(); }

    // Runs the server on the built samples with a fresh data directory; `settings` are the
    // samples' environment (CGIHOST_...), `extra` more server flags.
    void start(const Settings& settings, const std::vector<std::string>& extra = {}) {
        std::vector<std::string> args{"--cgi-dir",     directory_from_env("CGIHOST_SAMPLES_DIR"),
                                      "--docroot",     directory_from_env("CGIHOST_WWW_DIR"),
                                      "--cgi-env-set", "CGIHOST_DATA_DIR=" + data_.path().string()};
        for (const auto& [name, value] : settings) {
            args.emplace_back("--cgi-env-set");
            args.push_back(name);
            args.back().append(1, '=').append(value);
        }
        args.insert(args.end(), extra.begin(), extra.end());
        server_.reset();
        server_ = std::make_unique<TestServer>(args);
    }

    HttpResponse request(const std::string& method, const std::string& target,
                         const HeaderList& headers = {}, const std::string& body = {}) const {
        auto response = http_request(server_->port(), method, target, headers, body);
        if (!response) throw std::runtime_error("no response to " + method + ' ' + target);
        return *response;
    }

    HttpResponse get(const std::string& target) const { return request("GET", target); }

    // Returns the new message's id (0 when the post failed).
    uint64_t post_chat(const std::string& nick, const std::string& message) const {
        HttpResponse response =
            request("POST", "/cgi-bin/chat",
                    {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", kJson}},
                    "nick=" + encode_query(nick) + "&message=" + encode_query(message));
        EXPECT_EQ(response.status, 200) << response.body << server_->error_log();
        size_t at = response.body.find("\"id\":");
        return response.status == 200 && at != std::string::npos
                   ? std::stoull(response.body.substr(at + 5))
                   : 0;
    }

    HttpResponse start_job(const HeaderList& headers = {}) const {
        return request("POST", "/cgi-bin/background", headers);
    }

    std::filesystem::path room_file() const { return data_ / "chat/messages"; }

    uint64_t room_size() const { return std::filesystem::file_size(room_file()); }

    // The job files in <data>/jobs (not the lock or temporary files, which start with '.').
    std::vector<std::string> job_files() const {
        std::vector<std::string> names;
        std::error_code error;
        for (auto it = std::filesystem::directory_iterator(data_ / "jobs", error);
             !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
            std::string name = it->path().filename().string();
            if (!name.starts_with('.')) names.push_back(name);
        }
        return names;
    }

    std::string own_origin() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

    // The pid of the one chat script running, once it sleeps in its wait; -1 after the guard.
    pid_t waiting_chat_script() const {
        const std::string chat = directory_from_env("CGIHOST_SAMPLES_DIR") + "/chat";
        for (auto start = Clock::now(); Clock::now() - start < kHangGuard;
             std::this_thread::sleep_for(50ms)) {
            for (const ChildProcess& child : children_of(server_->pid())) {
                std::error_code error;
                auto exe = std::filesystem::read_symlink(
                    "/proc/" + std::to_string(child.pid) + "/exe", error);
                if (!error && std::filesystem::equivalent(exe, chat, error) &&
                    is_sleeping_in_poll(child.pid)) {
                    return child.pid;
                }
            }
        }
        return -1;
    }

    TempDir data_;
    std::unique_ptr<TestServer> server_;
};

// ---- chat: a bounded room -------------------------------------------------------------------

// 40 messages of 300 bytes into a room bounded to 4 KiB: it is rotated again and again, yet
// never holds more than its bound, and ids go on from the newest message kept.
TEST_F(SampleLimits, TheChatRoomStaysWithinItsBoundAndIdsGoOnAcrossRotations) {
    start({{"CGIHOST_CHAT_MAX_BYTES", "4096"}, {"CGIHOST_CHAT_WAIT", "1"}});
    constexpr uint64_t kPosts = 40;
    uint64_t largest = 0;
    for (uint64_t i = 1; i <= kPosts; ++i) {
        ASSERT_EQ(post_chat("ann", "message " + std::to_string(i) + ' ' + std::string(300, 'x')),
                  i);
        largest = std::max(largest, room_size());
    }
    EXPECT_LE(largest, 4096u) << "the room outgrew its bound";
    std::vector<uint64_t> kept = message_ids(get("/cgi-bin/chat?since=0").body);
    ASSERT_FALSE(kept.empty());
    EXPECT_GT(kept.front(), 1u) << "nothing was rotated away";
    EXPECT_EQ(kept, id_range(kept.front(), kPosts)) << "the newest messages, in order";
    // since=N finds its place however far back N is, and answers exactly what follows it.
    for (uint64_t since : {uint64_t{0}, kept.front() - 1, kept.front(), kPosts - 2, kPosts - 1}) {
        HttpResponse answer = get("/cgi-bin/chat?since=" + std::to_string(since));
        EXPECT_EQ(message_ids(answer.body), id_range(std::max(since + 1, kept.front()), kPosts))
            << "since=" << since;
        EXPECT_EQ(last_id(answer.body), kPosts);
    }
    EXPECT_THAT(get("/cgi-bin/chat").body, HasSubstr("message 40 "));
}

// A room configured far larger than one answer: a client joining it gets the newest messages
// that fit in 1 MiB and is told the rest was left out, so no client needs to take 64 MiB.
TEST_F(SampleLimits, AnAnswerFromAHugeRoomHoldsItsNewestMebibyte) {
    start({{"CGIHOST_CHAT_MAX_BYTES", "67108864"}, {"CGIHOST_CHAT_WAIT", "1"}});
    ASSERT_EQ(post_chat("ann", "first"), 1u);
    {
        std::ofstream room(room_file(), std::ios::app);
        for (int id = 2; id <= 1500; ++id) {
            room << id << "\t1700000000\tann\t" << std::string(1500, 'x') << '\n';
        }
    }
    EXPECT_EQ(post_chat("bob", "newest"), 1501u);
    HttpResponse answer = get("/cgi-bin/chat?since=0");
    EXPECT_LE(answer.body.size(), size_t{1024 * 1024 + 4096});
    EXPECT_THAT(answer.body, HasSubstr("\"truncated\":true"));
    std::vector<uint64_t> ids = message_ids(answer.body);
    ASSERT_FALSE(ids.empty());
    EXPECT_GT(ids.front(), 2u);
    EXPECT_EQ(ids, id_range(ids.front(), 1501));
    EXPECT_EQ(last_id(answer.body), 1501u);
    // A small answer says nothing of the kind.
    EXPECT_THAT(get("/cgi-bin/chat?since=1500").body, Not(HasSubstr("truncated")));
}

// A record cut short (a full disk, then a failed clean-up) is cut off by the next post instead
// of having that post glued onto it and its id handed out twice.
TEST_F(SampleLimits, APostAfterAHalfWrittenRecordCutsItOffAndKeepsIdsUnique) {
    start({{"CGIHOST_CHAT_WAIT", "1"}});
    ASSERT_EQ(post_chat("ann", "one"), 1u);
    ASSERT_EQ(post_chat("ann", "two"), 2u);
    // All of a third record but its end of line.
    std::ofstream(room_file(), std::ios::app) << "3\t1700000000\tann\tcut sho";
    EXPECT_EQ(post_chat("bob", "three"), 3u);
    EXPECT_EQ(post_chat("bob", "four"), 4u);
    const std::string room = get("/cgi-bin/chat?since=0").body;
    EXPECT_EQ(message_ids(room), id_range(1, 4));
    EXPECT_THAT(room, HasSubstr("\"three\""));
    EXPECT_THAT(room, Not(HasSubstr("cut sho")));
}

// The post that wakes the poll also rotates the room (a new file under the name): the poll
// answers exactly that message, and polls after it go on from there.
TEST_F(SampleLimits, ALongPollAnswersAcrossARotationWithExactlyTheNewMessages) {
    start({{"CGIHOST_CHAT_MAX_BYTES", "4096"}, {"CGIHOST_CHAT_WAIT", "600"}},
          {"--cgi-timeout", "600"});
    for (int i = 1; i <= 5; ++i) {
        ASSERT_EQ(post_chat("ann", "short " + std::to_string(i)), static_cast<uint64_t>(i));
    }
    struct stat old_file {};
    ASSERT_EQ(::stat(room_file().c_str(), &old_file), 0);
    auto poll = std::async(std::launch::async, [&] { return get("/cgi-bin/chat?since=5"); });
    ASSERT_GT(waiting_chat_script(), 0) << "the poll never waited";
    std::string large;
    for (int i = 0; i < 2000; ++i) {
        large += "ü";  // 4000 bytes: past the bound together with what is there
    }
    ASSERT_EQ(post_chat("bob", large), 6u);
    ASSERT_EQ(poll.wait_for(kHangGuard), std::future_status::ready) << "the post did not wake it";
    HttpResponse answer = poll.get();
    EXPECT_EQ(message_ids(answer.body), std::vector<uint64_t>{6}) << answer.body;
    EXPECT_EQ(last_id(answer.body), 6u);

    struct stat new_file {};
    ASSERT_EQ(::stat(room_file().c_str(), &new_file), 0);
    EXPECT_NE(new_file.st_ino, old_file.st_ino) << "the room was not rotated";
    EXPECT_LE(room_size(), 4096u);

    auto next = std::async(std::launch::async, [&] { return get("/cgi-bin/chat?since=6"); });
    ASSERT_GT(waiting_chat_script(), 0);
    ASSERT_EQ(post_chat("ann", "after the rotation"), 7u);
    ASSERT_EQ(next.wait_for(kHangGuard), std::future_status::ready);
    EXPECT_EQ(message_ids(next.get().body), std::vector<uint64_t>{7});
    // A client that fell behind the rotation gets what is left, in order.
    std::vector<uint64_t> behind = message_ids(get("/cgi-bin/chat?since=2").body);
    ASSERT_FALSE(behind.empty());
    EXPECT_EQ(behind, id_range(behind.front(), 7));
    EXPECT_GT(behind.front(), 2u);
}

// ---- chat: reading only what is new --------------------------------------------------------

// A waiting poll that is woken while nothing was posted (here: files created in the room's
// directory) must not read the room again: the bytes it reads (/proc/<pid>/io rchar, which
// counts every read(2), inotify events included) stay far below one reading of the room.
TEST_F(SampleLimits, AWokenLongPollReadsOnlyWhatWasAppended) {
    start({{"CGIHOST_CHAT_WAIT", "600"}}, {"--cgi-timeout", "600"});
    constexpr int kMessages = 60;
    for (int i = 1; i <= kMessages; ++i) {
        ASSERT_EQ(post_chat("ann", std::to_string(i) + std::string(1990, 'r')),
                  static_cast<uint64_t>(i));
    }
    const uint64_t room = room_size();  // about 120 KB
    auto poll = std::async(std::launch::async,
                           [&] { return get("/cgi-bin/chat?since=" + std::to_string(kMessages)); });
    pid_t script = waiting_chat_script();
    ASSERT_GT(script, 0);
    const int64_t read_before = proc_number(script, "io", "rchar");
    ASSERT_GE(read_before, 0);
    for (int wake = 0; wake < 10; ++wake) {
        std::ofstream(data_ / ("chat/wake-" + std::to_string(wake))) << "x";
        std::this_thread::sleep_for(20ms);
    }
    // Progress, not time: wait until it has woken (read an event) and gone back to sleep.
    int64_t read_after = read_before;
    for (auto start = Clock::now(); Clock::now() - start < kHangGuard;
         std::this_thread::sleep_for(50ms)) {
        read_after = proc_number(script, "io", "rchar");
        if (read_after > read_before && is_sleeping_in_poll(script)) break;
    }
    ASSERT_GT(read_after, read_before) << "the poll never woke";
    EXPECT_LT(static_cast<uint64_t>(read_after - read_before), room / 4)
        << "a wake-up with nothing new read the room again";

    ASSERT_EQ(post_chat("bob", "new"), kMessages + 1u);
    ASSERT_EQ(poll.wait_for(kHangGuard), std::future_status::ready);
    EXPECT_EQ(message_ids(poll.get().body), std::vector<uint64_t>{kMessages + 1u});
}

// ---- chat: no inotify ------------------------------------------------------------------------

// The scripts run as a user of their own whose every inotify instance another process holds,
// so inotify_init fails in the chat as it does with a thousand long polls. While nothing is
// posted for 5 s, the poll looks after 0.15, 0.45, 1.05, 2.25 and 4.65 s (backing off), not
// every 150 ms (about 33 times). A loaded machine can only make it look less often. It still
// answers the next message, and the error log says why it polls.
TEST_F(SampleLimits, WithoutInotifyALongPollBacksOffAndStillAnswers) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run the scripts as a private user";
    const std::string uid = std::to_string(private_uid());
    InotifyHog hog(private_uid());
    ASSERT_TRUE(hog.exhausted()) << "could not use up the user's inotify instances";
    start({{"CGIHOST_CHAT_WAIT", "600"}},
          {"--cgi-timeout", "600", "--cgi-user", uid, "--cgi-group", uid});
    ASSERT_EQ(post_chat("ann", "first"), 1u);
    auto poll = std::async(std::launch::async, [&] { return get("/cgi-bin/chat?since=1"); });
    pid_t script = waiting_chat_script();
    ASSERT_GT(script, 0);
    const int64_t sleeps_before = proc_number(script, "status", "voluntary_ctxt_switches");
    std::this_thread::sleep_for(5s);
    const int64_t sleeps_after = proc_number(script, "status", "voluntary_ctxt_switches");
    ASSERT_GE(sleeps_before, 0);
    ASSERT_GE(sleeps_after, 0) << "the poll ended while nothing was posted";
    EXPECT_LE(sleeps_after - sleeps_before, 12) << "it looked too often to be backing off";

    ASSERT_EQ(post_chat("bob", "second"), 2u);
    ASSERT_EQ(poll.wait_for(kHangGuard), std::future_status::ready) << "it never looked again";
    EXPECT_EQ(message_ids(poll.get().body), std::vector<uint64_t>{2});
    EXPECT_THAT(server_->error_log(), HasSubstr("chat: no inotify"));
}

TEST_F(SampleLimits, ChatJsonAnswersSayNosniff) {
    start({{"CGIHOST_CHAT_WAIT", "1"}});
    HttpResponse posted =
        request("POST", "/cgi-bin/chat",
                {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", kJson}},
                "nick=ann&message=%3Cb%3Ehi");
    EXPECT_EQ(posted.status, 200);
    EXPECT_EQ(posted.header("X-Content-Type-Options"), "nosniff");
    HttpResponse polled = get("/cgi-bin/chat?since=0");
    EXPECT_EQ(polled.header("Content-Type"), kJson);
    EXPECT_EQ(polled.header("X-Content-Type-Options"), "nosniff");
    HttpResponse refused =
        request("POST", "/cgi-bin/chat",
                {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", kJson}},
                "nick=&message=x");
    EXPECT_EQ(refused.status, 400);
    EXPECT_EQ(refused.header("X-Content-Type-Options"), "nosniff");
}

TEST_F(SampleLimits, AChatPostFromAnotherSiteIs403AndStoresNothing) {
    start({{"CGIHOST_CHAT_WAIT", "1"}});
    const HeaderList form = {{"Content-Type", "application/x-www-form-urlencoded"}};
    HeaderList forged = form;
    forged.emplace_back("Origin", "http://evil.example");
    HttpResponse refused = request("POST", "/cgi-bin/chat", forged, "nick=mallory&message=spam");
    EXPECT_EQ(refused.status, 403);
    EXPECT_THAT(refused.body, HasSubstr("another site"));
    HeaderList own = form;
    own.emplace_back("Origin", own_origin());
    EXPECT_EQ(request("POST", "/cgi-bin/chat", own, "nick=ann&message=hello").status, 303);
    // A program without Origin (curl, chat-client) still posts.
    EXPECT_EQ(request("POST", "/cgi-bin/chat", form, "nick=bob&message=hi").status, 303);
    HttpResponse room = get("/cgi-bin/chat?since=0");
    EXPECT_THAT(room.body, HasSubstr("hello"));
    EXPECT_THAT(room.body, HasSubstr("\"hi\""));
    EXPECT_THAT(room.body, Not(HasSubstr("spam")));
}

// ---- background ------------------------------------------------------------------------------

TEST_F(SampleLimits, AGetWithStartNoLongerStartsAJob) {
    start({{"CGIHOST_JOB_SECONDS", "0"}});
    HttpResponse response = get("/cgi-bin/background?start=1");
    EXPECT_EQ(response.status, 200);
    EXPECT_THAT(response.body, HasSubstr("<form method=\"post\" action=\"background\">"));
    EXPECT_THAT(response.body, Not(HasSubstr("background?job=")));
    EXPECT_TRUE(job_files().empty());
}

// Origin (or Referer without it) must name this server; a POST with neither is a program's.
TEST_F(SampleLimits, AJobStartFromAnotherSiteIs403AndStartsNothing) {
    start({{"CGIHOST_JOB_SECONDS", "0"}, {"CGIHOST_JOB_MAX_RUNNING", "100"}});
    const std::string other_port = "http://127.0.0.1:" + std::to_string(server_->port() + 1);
    const std::vector<HeaderList> refused = {
        {{"Origin", "http://evil.example"}},
        {{"Origin", "null"}},
        {{"Origin", other_port}},
        {{"Origin", "https://127.0.0.1:" + std::to_string(server_->port())}},
        {{"Referer", "http://evil.example/page.html"}},
        {{"Origin", "http://evil.example"}, {"Referer", own_origin() + "/background.html"}},
    };
    for (const HeaderList& headers : refused) {
        SCOPED_TRACE(headers.front().first + ": " + headers.front().second);
        HttpResponse response = start_job(headers);
        EXPECT_EQ(response.status, 403);
        EXPECT_THAT(response.body, HasSubstr("another site"));
    }
    EXPECT_TRUE(job_files().empty());

    const std::vector<HeaderList> accepted = {
        {{"Origin", own_origin()}},
        {{"Origin", "HTTP://127.0.0.1:" + std::to_string(server_->port())}},
        {{"Referer", own_origin() + "/background.html?x=1"}},
        {},
    };
    for (const HeaderList& headers : accepted) {
        EXPECT_EQ(start_job(headers).status, 202);
    }
    EXPECT_EQ(job_files().size(), accepted.size());
}

// Two long jobs run; the third start is refused until one ends, and refusing it (with
// expiry at 0 s) removes neither of the running jobs' files.
TEST_F(SampleLimits, AJobStartBeyondTheCapIs503WithRetryAfter) {
    start({{"CGIHOST_JOB_SECONDS", "30"},
           {"CGIHOST_JOB_MAX_RUNNING", "2"},
           {"CGIHOST_JOB_EXPIRE_SECONDS", "0"}});
    EXPECT_EQ(start_job().status, 202);
    EXPECT_EQ(start_job().status, 202);
    HttpResponse refused = start_job();
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(refused.header("Retry-After"), "30");
    EXPECT_THAT(refused.body, HasSubstr("2 jobs are running"));
    std::vector<std::string> running = job_files();
    ASSERT_EQ(running.size(), 2u);
    for (const std::string& id : running) {
        EXPECT_THAT(get("/cgi-bin/background?job=" + id).body, HasSubstr("Still running"));
    }
}

// With the expiry at 0 s, a finished job's file is gone once the next job starts.
TEST_F(SampleLimits, AFinishedJobsFileIsRemovedWhenItHasExpired) {
    start({{"CGIHOST_JOB_SECONDS", "0"}, {"CGIHOST_JOB_EXPIRE_SECONDS", "0"}});
    ASSERT_EQ(start_job().status, 202);
    std::vector<std::string> first = job_files();
    ASSERT_EQ(first.size(), 1u);
    const std::string status = "/cgi-bin/background?job=" + first[0];
    for (auto start = Clock::now(); Clock::now() - start < kHangGuard;
         std::this_thread::sleep_for(50ms)) {
        if (get(status).body.find("Finished") != std::string::npos) break;
    }
    ASSERT_THAT(get(status).body, HasSubstr("Finished"));

    ASSERT_EQ(start_job().status, 202);
    EXPECT_EQ(get(status).status, 404);
    std::vector<std::string> now = job_files();
    ASSERT_EQ(now.size(), 1u);
    EXPECT_NE(now[0], first[0]);
}

// With the default expiry (an hour) the same finished job stays.
TEST_F(SampleLimits, AFinishedJobsFileStaysUntilItExpires) {
    start({{"CGIHOST_JOB_SECONDS", "0"}});
    ASSERT_EQ(start_job().status, 202);
    std::vector<std::string> first = job_files();
    ASSERT_EQ(first.size(), 1u);
    const std::string status = "/cgi-bin/background?job=" + first[0];
    for (auto start = Clock::now(); Clock::now() - start < kHangGuard;
         std::this_thread::sleep_for(50ms)) {
        if (get(status).body.find("Finished") != std::string::npos) break;
    }
    ASSERT_EQ(start_job().status, 202);
    EXPECT_THAT(get(status).body, HasSubstr("Finished"));
    EXPECT_EQ(job_files().size(), 2u);
}

}  // namespace
}  // namespace cgihost::testing
