// The bad-request corpus (tests/integration/malformed/*.http) against the real binary: every
// malformed, ambiguous or oversized request gets the status its file name starts with, and the
// connection stays sane: it is closed, or the next request on it is answered correctly.
//
// A corpus file is the request's bytes in a notation that survives editors and git: newlines in
// the file are layout only, lines starting with '#' are comments, and \r \n \t \0 \\ \xHH stand
// for those bytes. "400-bare-cr-in-header-value.http" expects 400. A "# known-gap: why" line
// marks a case where cgihost does not yet give that status: it still must leave the connection
// sane, and the test is reported as skipped with the reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "test_server.hpp"

namespace cgihost::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kIndex = "<h1>home</h1>\n";
constexpr const char* kFollowUp = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n";

// The limits the corpus's oversized cases are written against.
// The idle timeouts lie beyond the hang guard (kHangGuard), so a connection the server closes
// within it was closed because of the request, never because a timeout ran out.
const std::vector<std::string> kLimitFlags = {
    "--max-uri-size", "1024", "--max-header-size", "2048", "--max-body-size",      "1024",
    "--read-timeout", "600",  "--header-timeout",  "600",  "--keep-alive-timeout", "600",
    "--body-timeout", "600"};

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The bytes a corpus file stands for (see the notation above).
std::string decode_corpus_text(const std::string& text) {
    std::string bytes;
    size_t at = 0;
    while (at < text.size()) {
        size_t line_end = std::min(text.find('\n', at), text.size());
        std::string line = text.substr(at, line_end - at);
        at = line_end + 1;
        if (line.starts_with("#")) continue;
        for (size_t i = 0; i < line.size(); ++i) {
            if (line[i] != '\\' || i + 1 == line.size()) {
                bytes += line[i];
                continue;
            }
            char escape = line[++i];
            if (escape == 'r') bytes += '\r';
            if (escape == 'n') bytes += '\n';
            if (escape == 't') bytes += '\t';
            if (escape == '0') bytes += '\0';
            if (escape == '\\') bytes += '\\';
            if (escape == 'x' && i + 2 < line.size() && hex_value(line[i + 1]) >= 0 &&
                hex_value(line[i + 2]) >= 0) {
                bytes += static_cast<char>(hex_value(line[i + 1]) * 16 + hex_value(line[i + 2]));
                i += 2;
            }
        }
    }
    return bytes;
}

struct CorpusCase {
    std::string name;  // the file's stem, e.g. "400-obs-fold"
    int status = 0;
    std::string bytes;
    std::string known_gap;  // why the status is not met yet; empty when it is
};

// gtest prints a failing parameter with this instead of its raw bytes.
void PrintTo(const CorpusCase& c, std::ostream* out) {
    *out << c.name;
}

std::string known_gap_of(const std::string& text) {
    const std::string marker = "# known-gap: ";
    size_t at = text.find(marker);
    if (at == std::string::npos) return "";
    return text.substr(at + marker.size(), text.find('\n', at) - at - marker.size());
}

std::filesystem::path corpus_directory() {
    const char* directory = std::getenv("CGIHOST_MALFORMED_DIR");
    if (directory == nullptr) throw std::runtime_error("CGIHOST_MALFORMED_DIR is not set");
    return directory;
}

std::vector<CorpusCase> load_corpus() {
    std::vector<CorpusCase> cases;
    for (const auto& entry : std::filesystem::directory_iterator(corpus_directory())) {
        if (entry.path().extension() != ".http") continue;
        std::string stem = entry.path().stem().string();
        std::string text = read_file(entry);
        cases.push_back(
            {stem, std::atoi(stem.c_str()), decode_corpus_text(text), known_gap_of(text)});
    }
    std::sort(cases.begin(), cases.end(),
              [](const CorpusCase& a, const CorpusCase& b) { return a.name < b.name; });
    return cases;
}

std::string test_name(const ::testing::TestParamInfo<CorpusCase>& info) {
    std::string name = "Status" + info.param.name;
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

// One server for the whole corpus: a case that upset it would show in the cases after it.
class MalformedRequest : public ::testing::TestWithParam<CorpusCase> {
  protected:
    static void SetUpTestSuite() {
        site_ = std::make_unique<TempDir>();
        site_->write_file("www/index.html", kIndex);
        std::filesystem::create_directories(*site_ / "cgi-bin");
        std::vector<std::string> args = {"--docroot", site_->file("www"), "--cgi-dir",
                                         site_->file("cgi-bin")};
        args.insert(args.end(), kLimitFlags.begin(), kLimitFlags.end());
        server_ = std::make_unique<TestServer>(args);
    }
    static void TearDownTestSuite() {
        if (server_) {
            EXPECT_EQ(server_->stop(), 0) << "the server did not exit cleanly";
        }
        server_.reset();
        site_.reset();
    }

    static std::unique_ptr<TempDir> site_;
    static std::unique_ptr<TestServer> server_;
};

std::unique_ptr<TempDir> MalformedRequest::site_;
std::unique_ptr<TestServer> MalformedRequest::server_;

TEST(MalformedCorpus, IsThereAndEveryFileNamesItsStatus) {
    std::vector<CorpusCase> cases = load_corpus();
    EXPECT_GE(cases.size(), 50u);
    for (const CorpusCase& c : cases) {
        EXPECT_GE(c.status, 200) << c.name;
        EXPECT_LT(c.status, 600) << c.name;
        EXPECT_FALSE(c.bytes.empty()) << c.name;
    }
    EXPECT_EQ(decode_corpus_text("# note\nA\\r\\n\n b\\0\\x7f\\\\\n"),
              std::string("A\r\n b\0\x7f\\", 8));
}

TEST_P(MalformedRequest, GetsItsStatusAndLeavesTheConnectionSane) {
    const CorpusCase& c = GetParam();
    HttpConnection connection(server_->port());
    ASSERT_TRUE(connection.connected());
    connection.send_raw(c.bytes);
    auto response = connection.read_response();
    ASSERT_TRUE(response) << "no response";
    if (c.known_gap.empty()) {
        EXPECT_EQ(response->status, c.status);
    } else {
        EXPECT_LT(response->status, 500);
    }
    EXPECT_EQ(response->version.rfind("HTTP/1.", 0), 0u) << response->version;
    if (response->header("Connection") == "close") {
        EXPECT_TRUE(connection.wait_closed()) << "announced close but kept the connection";
    } else {
        // Whatever the bad request left unread must not be taken for a request: the next one
        // is answered correctly, or the server has closed the connection.
        connection.send_raw(kFollowUp);
        auto next = connection.read_response();
        if (next) {
            EXPECT_EQ(next->status, 200);
            EXPECT_EQ(next->body, kIndex);
        } else {
            EXPECT_TRUE(connection.closed_by_peer()) << "neither answered nor closed";
        }
    }
    // And the server goes on serving everyone else.
    auto fresh = http_get(server_->port(), "/index.html");
    ASSERT_TRUE(fresh);
    EXPECT_EQ(fresh->status, 200);
    if (!c.known_gap.empty()) GTEST_SKIP() << "known gap: " << c.known_gap;
}

INSTANTIATE_TEST_SUITE_P(Corpus, MalformedRequest, ::testing::ValuesIn(load_corpus()), test_name);

}  // namespace
}  // namespace cgihost::testing
