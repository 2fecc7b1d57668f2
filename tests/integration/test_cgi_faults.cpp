// Scripts and clients behaving badly, against the real binary: request bodies the script reads
// late, early or never; scripts that crash, spin or fork-bomb; stderr floods; silence, slowness
// and too many scripts; clients that leave or stop reading; and, after all of it, no zombie and
// no leaked descriptor.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cgi_fixture.hpp"
#include "http_client.hpp"
#include "sha256.hpp"
#include "test_server.hpp"

namespace cgihost::testing {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

// Bytes that are not the test CGI's pattern, so an echo cannot pass by accident.
std::string make_body(size_t size) {
    std::string body(size, '\0');
    uint32_t state = 12345;
    for (char& c : body) {
        state = state * 1103515245 + 12345;
        c = static_cast<char>(state >> 24);
    }
    return body;
}

std::string get_request(const std::string& target, const std::string& version = "HTTP/1.1") {
    return "GET " + target + " " + version + "\r\nHost: x\r\n\r\n";
}

// ---- Request bodies (RFC 3875 §4.2) --------------------------------------------------------

class CgiRequestBody : public CgiTest {};

TEST_F(CgiRequestBody, Delivers16MiBToAScriptThatWritesBeforeItReads) {
    ASSERT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    start();
    std::string body = make_body(16 * kMiB);
    auto response = http_request(port(), "POST", "/cgi-bin/t?write-before-read=1M&body-sha256",
                                 {{"Content-Type", "application/octet-stream"}}, body);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    ASSERT_GE(response->body.size(), kMiB);
    EXPECT_EQ(first_pattern_mismatch(std::string_view(response->body).substr(0, kMiB)), kMiB);
    auto lines = parse_lines(std::string_view(response->body).substr(kMiB));
    EXPECT_EQ(lines["length"], std::to_string(body.size()));
    EXPECT_EQ(lines["sha256"], sha256_hex(body));
}

TEST_F(CgiRequestBody, GivesTheScriptADechunkedBody) {
    start();
    std::string big(70000, 'z');
    HttpConnection connection(port());
    connection.send_raw(
        "POST /cgi-bin/t?echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n11170\r\n" +
        big + "\r\n0\r\n\r\n");
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "hello world" + big);
}

TEST_F(CgiRequestBody, Sends100ContinueBeforeTheClientSendsTheBody) {
    start();
    HttpConnection connection(port());
    connection.send_raw(
        "POST /cgi-bin/t?echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        "Expect: 100-continue\r\n\r\n");
    auto interim = connection.read_response();
    ASSERT_TRUE(interim) << "no 100 Continue before the body";
    EXPECT_EQ(interim->version, "HTTP/1.1");
    EXPECT_EQ(interim->status, 100);
    connection.send_raw("hello");
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "hello");
}

TEST_F(CgiRequestBody, RefusesABodyOverTheLimitWith413WithoutRunningTheScript) {
    start({"--max-body-size", "1024"});
    auto small_marker = site_ / "ran-small";
    auto small =
        http_request(port(), "POST", "/cgi-bin/t?touch=" + encode_query(small_marker.string()), {},
                     std::string(100, 'x'));
    ASSERT_TRUE(small);
    EXPECT_EQ(small->status, 200);
    EXPECT_TRUE(std::filesystem::exists(small_marker)) << "the control request did not run";

    auto big_marker = site_ / "ran-big";
    HttpConnection connection(port());
    connection.send_raw("POST /cgi-bin/t?touch=" + encode_query(big_marker.string()) +
                        " HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n");
    auto big = connection.read_response();
    ASSERT_TRUE(big);
    EXPECT_EQ(big->status, 413);
    std::this_thread::sleep_for(300ms);
    EXPECT_FALSE(std::filesystem::exists(big_marker));
}

TEST_F(CgiRequestBody, AnswersAScriptThatClosesStdinBeforeABigBody) {
    start();
    auto response =
        http_request(port(), "POST", "/cgi-bin/t?close-stdin&body=ok", {}, make_body(4 * kMiB));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "ok");
}

// The property is that an answer comes at all (no deadlock on the unread body), not how fast.
TEST_F(CgiRequestBody, AnswersAScriptThatNeverReadsA16MiBBody) {
    start();
    auto response =
        http_request(port(), "POST", "/cgi-bin/t?ignore-stdin&body=ok", {}, make_body(16 * kMiB));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "ok");
}

// ---- Scripts that fail ---------------------------------------------------------------------

class CgiScriptFailure : public CgiTest {};

// A script that dies before its header block ended gave no response the server could pass on:
// RFC 3875 §6.3 leaves that to the server, and a gateway's answer is 502.
TEST_F(CgiScriptFailure, AnswersAScriptThatDiesBeforeItsHeadersWith502AndServesTheNext) {
    start();
    for (const char* action : {"crash", "abort", "exit=1", "no-output"}) {
        SCOPED_TRACE(action);
        HttpConnection connection(port());
        connection.send_raw(get_request(std::string("/cgi-bin/t?") + action));
        auto response = connection.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 502);
        EXPECT_EQ(response->header("Content-Type").rfind("text/html", 0), 0u);
        if (response->header("Connection") != "close") {
            connection.send_raw(get_request("/cgi-bin/t?body=next"));
            auto next = connection.read_response();
            ASSERT_TRUE(next) << "the connection did not survive";
            EXPECT_EQ(next->status, 200);
            EXPECT_EQ(next->body, "next");
        }
    }
    EXPECT_TRUE(all_children_gone());
    EXPECT_EQ(count_zombie_children(server_->pid()), 0);
}

// After the head went out the status cannot change: the client gets what the script wrote,
// but no last chunk, so the cut-short body cannot pass for a whole one. The crash is logged
// and the process reaped.
TEST_F(CgiScriptFailure, PassesOnWhatAScriptWroteBeforeItCrashedAndLogsTheCrash) {
    start();
    auto raw = split_raw_response(exchange_raw(
        "GET /cgi-bin/t?body=partial&crash HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    EXPECT_EQ(raw.head.rfind("HTTP/1.1 200", 0), 0u) << raw.head;
    Dechunked body = dechunk(raw.body);
    EXPECT_EQ(body.payload, "partial");
    EXPECT_FALSE(body.complete) << "a crashed script's body was ended as if whole";
    EXPECT_TRUE(error_log_contains("killed by signal " + std::to_string(SIGSEGV)))
        << server_->error_log();
    EXPECT_TRUE(all_children_gone());
}

// The busy loop ignores SIGTERM, so only the SIGKILL after the grace period can end it (its
// --cgi-max-time of 300 s lies far beyond the hang guard).
TEST_F(CgiScriptFailure, AnswersABusyLoopThatIgnoresSigtermWith504AndKillsIt) {
    start({"--cgi-timeout", "1", "--cgi-kill-grace", "0.5"});
    HttpConnection connection(port());
    connection.send_raw(get_request("/cgi-bin/t?ignore-sigterm&spin"));
    const pid_t script = wait_for_single_script();
    ASSERT_GT(script, 0) << "the script never started";
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 504);
    EXPECT_TRUE(wait_until([&] { return !is_running(script); }))
        << "the script outlived SIGTERM and the grace period";
    EXPECT_TRUE(all_children_gone());
    EXPECT_EQ(count_zombie_children(server_->pid()), 0);
}

// A server killed outright runs no destructor and no timer, so only the kernel can stop its
// scripts: without that, a busy loop would spin on as an orphan for ever.
TEST_F(CgiScriptFailure, AScriptDoesNotOutliveAServerThatWasKilled) {
    start({"--cgi-timeout", "60"});
    HttpConnection connection(port());
    connection.send_raw(get_request("/cgi-bin/t?ignore-sigterm&spin"));
    const pid_t script = wait_for_single_script();
    ASSERT_GT(script, 0) << "the script never started";
    ASSERT_TRUE(is_running(script));
    EXPECT_EQ(server_->stop(SIGKILL), 128 + SIGKILL);
    EXPECT_TRUE(wait_until([&] { return !is_running(script); }))
        << "the script outlived the server that ran it";
    if (is_running(script)) ::kill(script, SIGKILL);  // never leave a spinning orphan behind
}

// The tasks (threads included) of one real uid: what RLIMIT_NPROC counts.
int count_tasks_of_user(uid_t uid) {
    int tasks = 0;
    std::error_code error;
    for (auto it = std::filesystem::directory_iterator("/proc", error);
         !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
        std::ifstream status(it->path() / "status");
        bool owned = false;
        for (std::string line; std::getline(status, line);) {
            if (line.rfind("Uid:", 0) == 0) owned = std::stoul(line.substr(4)) == uid;
            if (line.rfind("Threads:", 0) == 0 && owned) tasks += std::stoi(line.substr(8));
        }
    }
    return tasks;
}

// Root is exempt from RLIMIT_NPROC, so when the tests run as root the server runs as a uid that
// owns no other process (setpriv, from util-linux, as any init system or container would drop
// privileges). Otherwise it runs as us, and the limit leaves room for what we already run.
TEST_F(CgiScriptFailure, StopsAForkBombAtTheProcessLimitAndKeepsServing) {
    constexpr uid_t kUnprivilegedUid = 64123;  // unused by anything else on a test machine
    constexpr int kForkAttempts = 200;
    constexpr int kHeadroom = 20;  // the server's threads, the script, a few children
    const bool as_root = ::geteuid() == 0;
    const uid_t uid = as_root ? kUnprivilegedUid : ::geteuid();
    ASSERT_TRUE(!as_root || count_tasks_of_user(uid) == 0) << "uid " << uid << " is in use";
    std::vector<std::string> launcher;
    auto logs = site_ / "logs";
    std::filesystem::create_directories(logs);
    if (as_root) {
        std::string id = std::to_string(uid);
        launcher = {"setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups", "--"};
        std::filesystem::permissions(site_.path(), std::filesystem::perms(0755));
        ASSERT_EQ(::chown(logs.c_str(), uid, uid), 0);
    }
    // The server's own tasks count too: measure them once it runs, then size the limit.
    auto start_with_limit = [&](int limit) {
        std::vector<std::string> args{"--docroot",          docroot().string(),
                                      "--cgi-dir",          cgi_dir().string(),
                                      "--error-log",        (logs / "error.log").string(),
                                      "--access-log",       (logs / "access.log").string(),
                                      "--cgi-rlimit-nproc", std::to_string(limit)};
        server_.reset();
        server_ = std::make_unique<TestServer>(args, true, launcher);
    };
    const int limit = count_tasks_of_user(uid) + kHeadroom + (as_root ? 8 : 0);
    start_with_limit(limit);

    auto lines = fetch_lines("/cgi-bin/t?pgid&fork-bomb=" + std::to_string(kForkAttempts));
    const pid_t group = std::atoi(lines["pgid"].c_str());
    ASSERT_GT(group, 0);
    // The limit leaves room for about kHeadroom forks; without it all of them succeed.
    const int forked = std::atoi(lines["forked"].c_str());
    RecordProperty("forked", forked);
    RecordProperty("nproc_limit", limit);
    EXPECT_LT(forked, kForkAttempts / 4) << "RLIMIT_NPROC did not hold (limit " << limit << ")";
    EXPECT_EQ(std::atoi(lines["failed"].c_str()), kForkAttempts - forked);

    // While the bomb's children still sleep, the server itself is untouched by the limit.
    auto page = get("/index.html");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    auto next = get("/cgi-bin/t?body=still-here");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 200);
    EXPECT_EQ(next->body, "still-here");
    ::kill(-group, SIGKILL);  // the sleepers we caused, by their process group
}

// ---- The script's stderr ---------------------------------------------------------------------

class CgiStderr : public CgiTest {};

bool contains_number(std::string_view text, const std::string& number) {
    for (size_t at = text.find(number); at != std::string_view::npos;
         at = text.find(number, at + 1)) {
        bool starts = at == 0 || !std::isdigit(static_cast<unsigned char>(text[at - 1]));
        size_t end = at + number.size();
        bool ends = end == text.size() || !std::isdigit(static_cast<unsigned char>(text[end]));
        if (starts && ends) return true;
    }
    return false;
}

TEST_F(CgiStderr, LogsEachLineTaggedWithTheScriptAndItsPid) {
    start();
    auto lines = fetch_lines("/cgi-bin/t?pgid&stderr-text=hello-from-the-script");
    ASSERT_FALSE(lines["pid"].empty());
    ASSERT_TRUE(error_log_contains("hello-from-the-script")) << server_->error_log();
    std::string log = server_->error_log();
    size_t at = log.find("hello-from-the-script");
    size_t line_start = log.rfind('\n', at) == std::string::npos ? 0 : log.rfind('\n', at) + 1;
    std::string line = log.substr(line_start, log.find('\n', at) - line_start);
    EXPECT_NE(line.find("/cgi-bin/t"), std::string::npos) << line;
    EXPECT_TRUE(contains_number(line, lines["pid"])) << line << " lacks pid " << lines["pid"];
}

TEST_F(CgiStderr, LogsAtMostTheLimitOfAFloodWithoutBlockingTheScript) {
    constexpr size_t kLimit = 4096;
    constexpr size_t kLongestLine = 100;  // the test CGI's stderr lines
    start({"--cgi-stderr-limit", std::to_string(kLimit)});
    // A script blocked on a full stderr pipe would never write "done": the 200 with it is the
    // proof that the flood was drained, however long that took.
    auto response = get("/cgi-bin/t?stderr=10M&body=done");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "done");
    ASSERT_TRUE(error_log_contains("not logged")) << server_->error_log().substr(0, 2000);
    std::this_thread::sleep_for(200ms);
    std::string log = server_->error_log();
    size_t logged = 0;
    size_t lines = 0;
    size_t not_logged_lines = 0;
    std::string_view rest = log;
    while (!rest.empty()) {
        std::string_view line = rest.substr(0, rest.find('\n'));
        rest.remove_prefix(std::min(rest.size(), line.size() + 1));
        if (size_t at = line.find("stderr line "); at != std::string_view::npos) {
            logged += line.size() - at + 1;
            ++lines;
        }
        not_logged_lines += line.find("not logged") != std::string_view::npos;
    }
    EXPECT_GE(lines, 1u);
    EXPECT_LE(logged, kLimit + kLongestLine);
    EXPECT_EQ(not_logged_lines, 1u);
}

// ---- Deadlines and the process limit ---------------------------------------------------------

class CgiLimits : public CgiTest {};

// The server raises its own open-file limit for its connections; a script gets back the one the
// server was started with, because select() and FD_SETSIZE expect the usual limit.
TEST_F(CgiLimits, GivesScriptsTheOpenFileLimitTheServerStartedWith) {
    constexpr rlim_t kStartingSoftLimit = 256;
    rlimit ours{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &ours), 0);
    const rlim_t hard = std::min<rlim_t>(ours.rlim_max, 4096);
    if (hard <= kStartingSoftLimit) GTEST_SKIP() << "hard open-file limit " << hard << " too low";
    const std::vector<std::string> launcher{
        "prlimit", "--nofile=" + std::to_string(kStartingSoftLimit) + ":" + std::to_string(hard),
        "--"};
    server_ = std::make_unique<TestServer>(
        std::vector<std::string>{"--docroot", docroot().string(), "--cgi-dir", cgi_dir().string()},
        true, launcher);
    auto lines = fetch_lines("/cgi-bin/t?rlimit-nofile");
    EXPECT_EQ(lines["nofile_soft"], std::to_string(kStartingSoftLimit));
    EXPECT_EQ(lines["nofile_hard"], std::to_string(hard));
    EXPECT_TRUE(error_log_contains("open file limit " + std::to_string(hard)))
        << "the server did not raise its own limit: " << server_->error_log();
}

// The script would sleep far beyond the hang guard: only the timeout can answer in time, and
// the 504 may come late under load but never before the second of silence has passed.
TEST_F(CgiLimits, AnswersASilentScriptWith504AndStopsIt) {
    start({"--cgi-timeout", "1", "--cgi-kill-grace", "0.5"});
    HttpConnection connection(port());
    auto started = std::chrono::steady_clock::now();
    connection.send_raw(get_request("/cgi-bin/t?sleep=600"));
    ASSERT_GT(wait_for_single_script(), 0) << "the script never started";
    auto response = connection.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 504);
    EXPECT_GE(seconds_since(started), 0.9);
    EXPECT_TRUE(all_children_gone());
}

// The script falls silent for far longer than the hang guard, and the idle timeouts are longer
// still, so only the CGI timeout can close the connection; the cut may come late under load but
// never before the second of silence.
TEST_F(CgiLimits, CutsTheConnectionWhenAStreamingScriptFallsSilent) {
    start({"--cgi-timeout", "1", "--cgi-kill-grace", "0.5", "--write-timeout", "600",
           "--keep-alive-timeout", "600"});
    auto started = std::chrono::steady_clock::now();
    bool closed = false;
    auto raw = split_raw_response(
        exchange_raw(get_request("/cgi-bin/t?body=x&sleep=600"), kHangGuard, &closed));
    EXPECT_TRUE(closed) << "the connection was left open";
    EXPECT_GE(seconds_since(started), 0.9);
    EXPECT_EQ(raw.head.rfind("HTTP/1.1 200", 0), 0u) << raw.head;
    auto body = dechunk(raw.body);
    EXPECT_EQ(body.payload, "x");
    EXPECT_FALSE(body.complete) << "a cut response must not look complete";
    EXPECT_TRUE(all_children_gone());
}

// Left alone the script would trickle for 20 s; the max time cuts it after 1 s (later under
// load, never earlier), so the body is short and not ended as if whole.
TEST_F(CgiLimits, CutsAScriptThatTricklesPastItsMaxTime) {
    start({"--cgi-max-time", "1", "--cgi-kill-grace", "0.5"});
    auto started = std::chrono::steady_clock::now();
    bool closed = false;
    auto raw = split_raw_response(exchange_raw(
        get_request("/cgi-bin/t?chunk=1&delay-ms=200&bytes=100"), kHangGuard, &closed));
    EXPECT_TRUE(closed) << "the connection was left open";
    EXPECT_GE(seconds_since(started), 0.9);
    EXPECT_EQ(raw.head.rfind("HTTP/1.1 200", 0), 0u) << raw.head;
    auto body = dechunk(raw.body);
    EXPECT_GE(body.payload.size(), 1u);
    EXPECT_LT(body.payload.size(), 100u);
    EXPECT_EQ(first_pattern_mismatch(body.payload), body.payload.size());
    EXPECT_FALSE(body.complete);
    EXPECT_TRUE(all_children_gone());
}

// The two scripts wait for a gate the test opens only after the third request was refused, so
// they are certainly still running when it arrives, however slow the machine.
TEST_F(CgiLimits, RefusesAScriptBeyondMaxProcessesWith503AndRetryAfter) {
    start({"--cgi-max-processes", "2", "--cgi-queue", "0"});  // no queue: 503 at once
    const auto gate = site_ / "gate";
    const std::string waiting = "/cgi-bin/t?wait-for=" + encode_query(gate.string()) + "&body=ran";
    std::vector<std::unique_ptr<HttpConnection>> running;
    for (int i = 0; i < 2; ++i) {
        running.push_back(std::make_unique<HttpConnection>(port()));
        running.back()->send_raw(get_request(waiting));
    }
    ASSERT_TRUE(wait_until([&] { return child_processes(server_->pid()).size() == 2; }));
    HttpConnection third(port());
    third.send_raw(get_request(waiting));
    auto refused = third.read_response();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 503);
    EXPECT_FALSE(refused->header("Retry-After").empty());

    site_.write_file("gate", "");
    for (auto& connection : running) {
        auto response = connection->read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 200);
        EXPECT_EQ(response->body, "ran");
    }
}

// ---- A client that leaves ----------------------------------------------------------------------

class CgiClientGone : public CgiTest {};

TEST_F(CgiClientGone, StopsTheScriptWhenTheClientDisconnects) {
    start({"--cgi-kill-grace", "0.5"});
    auto control = site_ / "control-touched";
    auto response = get("/cgi-bin/t?sleep=0.2&touch=" + encode_query(control.string()));
    ASSERT_TRUE(response);
    ASSERT_TRUE(std::filesystem::exists(control)) << "touch= does not work";

    // Left alone, the script would sleep 30 s and then touch the marker before it exits: gone
    // without the marker means it was stopped, whenever that happened within the hang guard.
    auto marker = site_ / "late-touched";
    HttpConnection connection(port());
    connection.send_raw(get_request("/cgi-bin/t?sleep=30&touch=" + encode_query(marker.string())));
    ASSERT_GT(wait_for_single_script(), 0) << "the script never started";
    connection.close();
    EXPECT_TRUE(all_children_gone());
    EXPECT_FALSE(std::filesystem::exists(marker)) << "the script lived on after the client left";
}

TEST_F(CgiClientGone, StopsEveryProcessOfTheScriptsGroupWhenTheClientDisconnects) {
    start({"--cgi-kill-grace", "0.5"});
    HttpConnection connection(port());
    // Both sleep far beyond the hang guard, so neither can pass by ending on its own.
    connection.send_raw(get_request("/cgi-bin/t?pgid&grandchild-detached=600&sleep=600"));
    std::string received;
    ASSERT_TRUE(read_until(connection.fd(), received, [](const std::string& text) {
        size_t at = text.find("grandchild=");
        return at != std::string::npos && text.find('\n', at) != std::string::npos;
    })) << received;
    auto lines = parse_lines(dechunk(split_raw_response(received).body).payload);
    pid_t script = std::atoi(lines["pid"].c_str());
    pid_t grandchild = std::atoi(lines["grandchild"].c_str());
    ASSERT_GT(script, 0);
    ASSERT_GT(grandchild, 0);
    ASSERT_TRUE(is_running(script));
    ASSERT_TRUE(is_running(grandchild));

    connection.close();
    EXPECT_TRUE(wait_until([&] { return !is_running(script); }));
    EXPECT_TRUE(wait_until([&] { return !is_running(grandchild); }));
    if (is_running(grandchild)) ::kill(grandchild, SIGKILL);  // our own leftovers
    if (is_running(script)) ::kill(script, SIGKILL);
}

// The body is read in full before the script starts (evhttp), so a client that leaves halfway
// through costs nothing: no script, no descriptor, and the next request is served.
TEST_F(CgiClientGone, NeverRunsTheScriptWhenTheClientLeavesMidBody) {
    start();
    auto control = http_request(port(), "POST", "/cgi-bin/t?body-sha256", {}, make_body(kMiB));
    ASSERT_TRUE(control);
    ASSERT_TRUE(all_children_gone());
    // Read after the control's connection may still be closing: compared with <= below, so a
    // baseline taken early can only make the check looser, never fail it.
    const int baseline = count_open_fds(server_->pid());

    auto marker = site_ / "ran";
    for (int round = 0; round < 5; ++round) {
        HttpConnection connection(port());
        connection.send_raw("POST /cgi-bin/t?touch=" + encode_query(marker.string()) +
                            " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(16 * kMiB) +
                            "\r\n\r\n" + make_body(kMiB));
        std::this_thread::sleep_for(100ms);
        connection.close();
    }
    std::this_thread::sleep_for(500ms);
    EXPECT_FALSE(std::filesystem::exists(marker)) << "a script ran on a truncated body";
    EXPECT_TRUE(child_processes(server_->pid()).empty());
    EXPECT_TRUE(wait_until([&] { return count_open_fds(server_->pid()) <= baseline; }))
        << count_open_fds(server_->pid()) << " descriptors open, " << baseline << " before";
    auto next = http_request(port(), "POST", "/cgi-bin/t?echo-body", {}, "whole");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->body, "whole");
}

TEST_F(CgiClientGone, ReapsTheScriptAndFreesItsDescriptorsWhenTheClientLeavesMidResponse) {
    start({"--cgi-kill-grace", "0.5"});
    ASSERT_TRUE(get("/cgi-bin/t?bytes=1M"));
    ASSERT_TRUE(all_children_gone());
    const pid_t server = server_->pid();
    const int baseline = count_open_fds(server);  // compared with <=, as above

    for (int round = 0; round < 5; ++round) {
        SCOPED_TRACE(round);
        HttpConnection connection(port());
        connection.send_raw(get_request(round % 2 ? "/cgi-bin/t?forever"
                                                  : "/cgi-bin/t?chunk=1K&delay-ms=10&bytes=1G"));
        std::string received;
        ASSERT_TRUE(read_until(connection.fd(), received,
                               [](const std::string& text) { return text.size() >= 64 * 1024; }));
        std::vector<pid_t> children = child_processes(server);
        ASSERT_EQ(children.size(), 1u);
        connection.close();
        EXPECT_TRUE(wait_until([&] { return !is_running(children.front()); }));
    }
    EXPECT_TRUE(wait_until(
        [&] { return count_zombie_children(server) == 0 && child_processes(server).empty(); }));
    EXPECT_TRUE(wait_until([&] { return count_open_fds(server) <= baseline; }))
        << count_open_fds(server) << " descriptors open, " << baseline << " before";
}

// ---- Reaping ---------------------------------------------------------------------------------

class CgiReaping : public CgiTest {};

// One request of kind `kind`; returns the status, 0 for none, -1 when the client left on purpose.
int run_mixed_request(uint16_t port, int kind) {
    static const char* const kTargets[] = {
        "/cgi-bin/t?body=ok",  "/cgi-bin/t?bytes=64K", "/cgi-bin/t?crash",
        "/cgi-bin/t?abort",    "/cgi-bin/t?exit=3",    "/cgi-bin/t?no-output",
        "/cgi-bin/t?sleep=30", "/cgi-bin/t?sleep=30",  "/cgi-bin/t?stderr=100K&body=ok",
        "/index.html",
    };
    HttpConnection connection(port);
    connection.send_raw(get_request(kTargets[kind]));
    if (kind == 7) {  // the client leaves mid-request
        std::this_thread::sleep_for(50ms);
        return -1;
    }
    auto response = connection.read_response();
    return response ? response->status : 0;
}

TEST_F(CgiReaping, LeavesNoZombieAndNoDescriptorAfterManyMixedRequests) {
    // The silent kind must reach the timeout while every other kind answers before it: under
    // ASan on two loaded cores a script that prints at once was seen silent for over 1 s, so
    // the timeout leaves a margin (it costs the 100 silent requests 3 s each, 16 at a time).
    start({"--cgi-timeout", "3", "--cgi-kill-grace", "0.5"});
    constexpr int kKinds = 10;
    const int kExpected[kKinds] = {200, 200, 502, 502, 502, 502, 504, -1, 200, 200};
    for (int kind = 0; kind < kKinds; ++kind)
        EXPECT_EQ(run_mixed_request(port(), kind), kExpected[kind]) << "warm-up kind " << kind;
    ASSERT_TRUE(all_children_gone());
    const int baseline = count_open_fds(server_->pid());  // compared with <=

    // Issue 3's bar: 1,000 requests with crashes, timeouts and disconnects among them.
    constexpr int kThreads = 16;
    constexpr int kRequests = 1000;
    std::atomic<int> next{0};
    std::atomic<int> unexpected{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = next++; i < kRequests; i = next++) {
                int kind = (i * 7) % kKinds;  // interleaves the kinds across threads
                if (run_mixed_request(port(), kind) != kExpected[kind]) ++unexpected;
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    EXPECT_EQ(unexpected.load(), 0);

    pid_t server = server_->pid();
    EXPECT_TRUE(wait_until([&] {
        return count_zombie_children(server) == 0 && child_processes(server).empty();
    })) << count_zombie_children(server)
        << " zombies, " << child_processes(server).size() << " children";
    EXPECT_TRUE(wait_until([&] { return count_open_fds(server) <= baseline; }))
        << count_open_fds(server) << " descriptors open, " << baseline << " before";
}

// ---- Backpressure and concurrency ------------------------------------------------------------

class CgiBackpressure : public CgiTest {};

TEST_F(CgiBackpressure, KeepsMemoryFlatWhileTheClientReadsNothing) {
    start({"--cgi-kill-grace", "0.5"});
    ASSERT_TRUE(get("/cgi-bin/t?bytes=1M"));  // warm-up: buffers of a normal response
    const int64_t rss_before = static_cast<int64_t>(resident_bytes(server_->pid()));

    // HTTP/1.0: no chunk framing, so the body is the script's output byte for byte.
    HttpConnection connection(port());
    connection.send_raw("GET /cgi-bin/t?pgid&forever HTTP/1.0\r\n\r\n");
    std::this_thread::sleep_for(2s);
    const int64_t rss_after = static_cast<int64_t>(resident_bytes(server_->pid()));
    EXPECT_LT(rss_after - rss_before, static_cast<int64_t>(16 * kMiB))
        << rss_before << " -> " << rss_after;

    std::string received;
    ASSERT_TRUE(read_until(connection.fd(), received, [](const std::string& text) {
        size_t head_end = text.find("\r\n\r\n");
        return head_end != std::string::npos && text.find("pgid=", head_end) != std::string::npos &&
               text.find('\n', text.find("pgid=", head_end)) != std::string::npos;
    }));
    auto raw = split_raw_response(received);
    pid_t script = std::atoi(parse_lines(raw.body)["pid"].c_str());
    ASSERT_GT(script, 0);
    size_t pattern_start = raw.body.find('\n', raw.body.find("pgid=")) + 1;
    std::string pattern = raw.body.substr(pattern_start);
    uint64_t total = pattern.size();
    uint64_t mismatches = first_pattern_mismatch(pattern) == pattern.size() ? 0 : 1;
    std::vector<char> buffer(1 << 16);
    while (total < 64 * kMiB) {
        pollfd pfd{connection.fd(), POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(std::chrono::milliseconds(kHangGuard).count())) <= 0)
            break;
        ssize_t n = ::recv(connection.fd(), buffer.data(), buffer.size(), 0);
        if (n <= 0) break;
        std::string_view piece(buffer.data(), static_cast<size_t>(n));
        if (first_pattern_mismatch(piece, total) != piece.size()) ++mismatches;
        total += static_cast<uint64_t>(n);
    }
    EXPECT_GE(total, 64 * kMiB);
    EXPECT_EQ(mismatches, 0u);
    EXPECT_TRUE(is_running(script)) << "the script died before the client left";

    connection.close();
    EXPECT_TRUE(wait_until([&] { return !is_running(script); }));
    EXPECT_TRUE(all_children_gone());
}

// Backpressure stops reading the script's stdout, so the script blocks in write(2); both of its
// deadlines still run and end it, and the server never buffers what the client did not take.
// The other deadline and the write timeout lie beyond the hang guard, so only the one under
// test can end the script in time; it may end late under load, never before its 3 s.
TEST_F(CgiBackpressure, StopsAScriptWritingForeverToANonReadingClientAtEitherTimeout) {
    for (const auto& [deadline, other] : {std::pair{"--cgi-timeout", "--cgi-max-time"},
                                          std::pair{"--cgi-max-time", "--cgi-timeout"}}) {
        SCOPED_TRACE(deadline);
        start({deadline, "3", other, "600", "--write-timeout", "600", "--cgi-kill-grace", "0.5"});
        ASSERT_TRUE(get("/cgi-bin/t?bytes=1M"));  // warm-up: buffers of a normal response
        const int64_t rss_before = static_cast<int64_t>(resident_bytes(server_->pid()));
        HttpConnection connection(port());
        auto started = std::chrono::steady_clock::now();
        connection.send_raw("GET /cgi-bin/t?forever HTTP/1.0\r\n\r\n");
        const pid_t script = wait_for_single_script();
        ASSERT_GT(script, 0);
        std::this_thread::sleep_for(1000ms);  // let it write into the full buffers a while
        const int64_t rss_after = static_cast<int64_t>(resident_bytes(server_->pid()));
        EXPECT_LT(rss_after - rss_before, static_cast<int64_t>(16 * kMiB))
            << rss_before << " -> " << rss_after;
        EXPECT_TRUE(wait_until([&] { return !is_running(script); }))
            << "the script ran on past its deadline";
        EXPECT_GE(seconds_since(started), 2.9) << "stopped before its deadline";
        RecordProperty(std::string(deadline + 2) + "_rss_growth_bytes",
                       std::to_string(rss_after - rss_before));
        EXPECT_TRUE(all_children_gone());
    }
}

class CgiConcurrency : public CgiTest {};

// Order, not speed: all fifty scripts run at the same time (each waits for a gate the test opens
// only afterwards), and a static file is answered while every one of them still runs. A server
// that ran scripts one at a time, or served files behind its scripts, never gets past the
// first wait. How fast static files stay under CGI load is measured in bench/, not here.
TEST_F(CgiConcurrency, RunsFiftyScriptsAtOnceAndServesStaticFilesBeforeTheyFinish) {
    constexpr size_t kScripts = 50;
    start({"--cgi-max-per-client", "0"});  // all 50 come from 127.0.0.1
    const auto gate = site_ / "gate";
    std::vector<std::unique_ptr<HttpConnection>> connections;
    for (size_t i = 0; i < kScripts; ++i) {
        connections.push_back(std::make_unique<HttpConnection>(port()));
        connections.back()->send_raw(
            get_request("/cgi-bin/t?wait-for=" + encode_query(gate.string()) + "&body=ran-" +
                        std::to_string(i)));
    }
    ASSERT_TRUE(wait_until([&] { return child_processes(server_->pid()).size() == kScripts; }))
        << child_processes(server_->pid()).size() << " scripts ran at once";

    auto page = get("/index.html");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(page->body, kIndexHtml);
    EXPECT_EQ(child_processes(server_->pid()).size(), kScripts)
        << "the static answer waited for scripts to finish";

    site_.write_file("gate", "");
    for (size_t i = 0; i < kScripts; ++i) {
        auto response = connections[i]->read_response();
        ASSERT_TRUE(response) << i;
        EXPECT_EQ(response->status, 200) << i;
        EXPECT_EQ(response->body, "ran-" + std::to_string(i));
    }
}

}  // namespace
}  // namespace cgihost::testing
