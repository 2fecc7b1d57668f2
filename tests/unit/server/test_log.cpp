#include "server/log.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "test_server.hpp"

namespace cgihost {
namespace {

using testing::read_file;
using testing::TempDir;

namespace fs = std::filesystem;

// 2023-11-14 22:13:20 UTC.
constexpr int64_t kSomeTime = 1700000000;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

// Whether `text` has the shape of `pattern`: '#' stands for any digit, the rest is literal.
bool matches_shape(std::string_view text, std::string_view pattern) {
    if (text.size() != pattern.size()) return false;
    for (size_t i = 0; i < text.size(); ++i) {
        bool digit = text[i] >= '0' && text[i] <= '9';
        if (pattern[i] == '#' ? !digit : text[i] != pattern[i]) return false;
    }
    return true;
}

AccessRecord some_record() {
    AccessRecord r;
    r.remote_addr = "192.0.2.7";
    r.time = kSomeTime;
    r.request_line = "GET /index.html HTTP/1.1";
    r.status = 200;
    r.body_bytes = 1234;
    r.referer = "http://example.org/";
    r.user_agent = "curl/8.0";
    return r;
}

// ---- format_combined_log_line ----

TEST(FormatCombinedLogLine, WritesTheApacheCombinedFields) {
    EXPECT_EQ(format_combined_log_line(some_record()),
              "192.0.2.7 - - [14/Nov/2023:22:13:20 +0000] \"GET /index.html HTTP/1.1\" 200 1234 "
              "\"http://example.org/\" \"curl/8.0\"\n");
}

TEST(FormatCombinedLogLine, AppendsScriptUsageOnlyWhenAsked) {
    AccessRecord record = some_record();
    record.usage_fields = true;
    EXPECT_EQ(format_combined_log_line(record),
              "192.0.2.7 - - [14/Nov/2023:22:13:20 +0000] \"GET /index.html HTTP/1.1\" 200 1234 "
              "\"http://example.org/\" \"curl/8.0\" - -\n");
    record.script_usage = AccessRecord::ScriptUsage{0.0425, 2048};
    EXPECT_TRUE(format_combined_log_line(record).ends_with("\"curl/8.0\" 0.043 2048\n"));
    record.usage_fields = false;  // the plain format never carries them
    EXPECT_TRUE(format_combined_log_line(record).ends_with("\"curl/8.0\"\n"));
}

TEST(FormatCombinedLogLine, FormatsTheTimestampInUtcWithAbbreviatedMonth) {
    AccessRecord r = some_record();
    r.time = 0;
    EXPECT_NE(format_combined_log_line(r).find(" [01/Jan/1970:00:00:00 +0000] "),
              std::string::npos);
    r.time = 951782400 + 86399;  // the last second of 29 Feb 2000
    EXPECT_NE(format_combined_log_line(r).find(" [29/Feb/2000:23:59:59 +0000] "),
              std::string::npos);
}

TEST(FormatCombinedLogLine, WritesADashForEveryEmptyField) {
    AccessRecord r;
    r.time = kSomeTime;
    r.request_line = "GET / HTTP/1.0";
    r.status = 304;
    EXPECT_EQ(format_combined_log_line(r),
              "- - - [14/Nov/2023:22:13:20 +0000] \"GET / HTTP/1.0\" 304 - \"-\" \"-\"\n");
}

TEST(FormatCombinedLogLine, WritesTheRemoteUserWhenThereIsOne) {
    AccessRecord r = some_record();
    r.remote_user = "alice";
    EXPECT_EQ(format_combined_log_line(r).rfind("192.0.2.7 - alice [", 0), 0u);
}

TEST(FormatCombinedLogLine, EscapesQuotesBackslashesAndControlBytes) {
    AccessRecord r = some_record();
    r.request_line = std::string("GET /a\"b\\c\nd\re\tf\x01g\x7fh\0i HTTP/1.1", 31);
    r.referer = "\"quoted\"";
    r.user_agent = "evil\r\n127.0.0.1 - - [forged]";
    r.remote_user = "bob\"";
    std::string line = format_combined_log_line(r);
    EXPECT_NE(line.find(R"("GET /a\"b\\c\x0ad\x0de\x09f\x01g\x7fh\x00i HTTP/1.1")"),
              std::string::npos)
        << line;
    EXPECT_NE(line.find(R"("\"quoted\"")"), std::string::npos) << line;
    EXPECT_NE(line.find(R"("evil\x0d\x0a127.0.0.1 - - [forged]")"), std::string::npos) << line;
    EXPECT_NE(line.find(R"( - bob\" [)"), std::string::npos) << line;
    // Whatever a client sends, one request stays exactly one line.
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    EXPECT_EQ(line.find('\r'), std::string::npos);
}

TEST(FormatCombinedLogLine, KeepsUtf8BytesAsTheyAre) {
    AccessRecord r = some_record();
    r.request_line = "GET /caf\xc3\xa9 HTTP/1.1";
    EXPECT_NE(format_combined_log_line(r).find("\"GET /caf\xc3\xa9 HTTP/1.1\""), std::string::npos);
}

// ---- parse_log_level ----

TEST(ParseLogLevel, KnowsTheFourLevelsAndNothingElse) {
    EXPECT_EQ(parse_log_level("debug"), LogLevel::debug);
    EXPECT_EQ(parse_log_level("info"), LogLevel::info);
    EXPECT_EQ(parse_log_level("warn"), LogLevel::warn);
    EXPECT_EQ(parse_log_level("error"), LogLevel::error);
    EXPECT_EQ(parse_log_level("INFO"), std::nullopt);
    EXPECT_EQ(parse_log_level("warning"), std::nullopt);
    EXPECT_EQ(parse_log_level(""), std::nullopt);
}

// ---- Logger ----

TEST(Logger, WritesAnErrorLineWithTimestampAndLevel) {
    TempDir dir;
    Logger logger(dir.file("error.log"), LogLevel::info, "");
    ASSERT_EQ(logger.open(), "");
    logger.error("disk on fire");
    auto lines = lines_of(read_file(dir.file("error.log")));
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_TRUE(matches_shape(lines[0], "####-##-##T##:##:##.###Z [error] disk on fire"))
        << lines[0];
}

TEST(Logger, DropsMessagesBelowItsLevel) {
    TempDir dir;
    Logger logger(dir.file("error.log"), LogLevel::warn, "");
    ASSERT_EQ(logger.open(), "");
    EXPECT_FALSE(logger.enabled(LogLevel::info));
    EXPECT_TRUE(logger.enabled(LogLevel::warn));
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    auto lines = lines_of(read_file(dir.file("error.log")));
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[0].find(" [warn] w"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find(" [error] e"), std::string::npos) << lines[1];
}

TEST(Logger, AppendsToAnExistingErrorLog) {
    TempDir dir;
    std::ofstream(dir.file("error.log")) << "earlier line\n";
    Logger logger(dir.file("error.log"), LogLevel::debug, "");
    ASSERT_EQ(logger.open(), "");
    logger.debug("later");
    auto lines = lines_of(read_file(dir.file("error.log")));
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0], "earlier line");
    EXPECT_NE(lines[1].find(" [debug] later"), std::string::npos);
}

TEST(Logger, AccessLinesReachTheFileAfterFlush) {
    TempDir dir;
    Logger logger("", LogLevel::info, dir.file("access.log"));
    ASSERT_EQ(logger.open(), "");
    AccessRecord first = some_record();
    AccessRecord second = some_record();
    second.status = 404;
    logger.access(first);
    logger.access(second);
    logger.flush();
    EXPECT_EQ(read_file(dir.file("access.log")),
              format_combined_log_line(first) + format_combined_log_line(second));
}

TEST(Logger, FlushesAccessLinesInTheBackgroundToo) {
    TempDir dir;
    Logger logger("", LogLevel::info, dir.file("access.log"));
    ASSERT_EQ(logger.open(), "");
    logger.access(some_record());
    // The interval is 200 ms; the polling stops after a 60 s hang guard (kHangGuard), so only a
    // flusher that never runs fails, never a slow one on a loaded machine.
    std::string content;
    const auto guard = std::chrono::steady_clock::now() + testing::kHangGuard;
    while (content.empty() && std::chrono::steady_clock::now() < guard) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        content = read_file(dir.file("access.log"));
    }
    EXPECT_EQ(content, format_combined_log_line(some_record()));
}

TEST(Logger, FlushesPendingAccessLinesWhenDestroyed) {
    TempDir dir;
    {
        Logger logger("", LogLevel::info, dir.file("access.log"));
        ASSERT_EQ(logger.open(), "");
        logger.access(some_record());
    }
    EXPECT_EQ(read_file(dir.file("access.log")), format_combined_log_line(some_record()));
}

TEST(Logger, ReopenAfterARenameWritesToANewFile) {
    TempDir dir;
    Logger logger(dir.file("error.log"), LogLevel::info, dir.file("access.log"));
    ASSERT_EQ(logger.open(), "");
    AccessRecord before = some_record();
    AccessRecord pending = some_record();
    pending.status = 201;
    AccessRecord after = some_record();
    after.status = 202;
    logger.access(before);
    logger.flush();
    logger.info("before rotation");
    fs::rename(dir.file("access.log"), dir.file("access.log.1"));
    fs::rename(dir.file("error.log"), dir.file("error.log.1"));
    logger.access(pending);  // still buffered: reopen flushes it into the rotated file
    logger.reopen();
    logger.access(after);
    logger.info("after rotation");
    logger.flush();
    EXPECT_EQ(read_file(dir.file("access.log.1")),
              format_combined_log_line(before) + format_combined_log_line(pending));
    EXPECT_EQ(read_file(dir.file("access.log")), format_combined_log_line(after));
    EXPECT_NE(read_file(dir.file("error.log.1")).find("before rotation"), std::string::npos);
    std::string error_log = read_file(dir.file("error.log"));
    EXPECT_NE(error_log.find("after rotation"), std::string::npos);
    EXPECT_EQ(error_log.find("before rotation"), std::string::npos);
}

TEST(Logger, OpenNamesAPathItCannotOpen) {
    TempDir dir;
    std::string bad = dir.file("no/such/dir/access.log");
    Logger logger("", LogLevel::info, bad);
    std::string error = logger.open();
    EXPECT_NE(error.find(bad), std::string::npos) << error;
}

// Points a standard descriptor at a file for the life of the object.
class RedirectFd {
  public:
    RedirectFd(int fd, const std::string& path) : fd_(fd), saved_(::dup(fd)) {
        std::fflush(nullptr);
        int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ::dup2(file, fd_);
        ::close(file);
    }
    ~RedirectFd() {
        std::fflush(nullptr);
        ::dup2(saved_, fd_);
        ::close(saved_);
    }
    RedirectFd(const RedirectFd&) = delete;
    RedirectFd& operator=(const RedirectFd&) = delete;

  private:
    int fd_;
    int saved_;
};

TEST(Logger, DashWritesErrorsToStderrAndAccessLinesToStdout) {
    TempDir dir;
    {
        RedirectFd out(STDOUT_FILENO, dir.file("stdout"));
        RedirectFd err(STDERR_FILENO, dir.file("stderr"));
        Logger logger("-", LogLevel::info, "-");
        ASSERT_EQ(logger.open(), "");
        logger.error("to stderr");
        logger.access(some_record());
        logger.flush();
    }
    EXPECT_EQ(read_file(dir.file("stdout")), format_combined_log_line(some_record()));
    EXPECT_NE(read_file(dir.file("stderr")).find("[error] to stderr"), std::string::npos);
}

TEST(Logger, EmptyPathsDisableBothLogs) {
    TempDir dir;
    {
        RedirectFd out(STDOUT_FILENO, dir.file("stdout"));
        RedirectFd err(STDERR_FILENO, dir.file("stderr"));
        Logger logger("", LogLevel::debug, "");
        ASSERT_EQ(logger.open(), "");
        logger.error("nowhere");
        logger.access(some_record());
        logger.flush();
    }
    EXPECT_EQ(read_file(dir.file("stdout")), "");
    EXPECT_EQ(read_file(dir.file("stderr")), "");
}

}  // namespace
}  // namespace cgihost
