// The second half of the sample CGI programs, the ones that keep files: upload and download
// (round trips checked with SHA-256, hostile names, limits, malformed bodies, X-Sendfile),
// chat (concurrent posters, long polling, escaping) and background (a response that ends
// before the work does). The real server runs the built samples with a private data directory.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "sha256.hpp"
#include "test_server.hpp"

namespace cgihost::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using HeaderList = std::vector<std::pair<std::string, std::string>>;
using Clock = std::chrono::steady_clock;

constexpr const char* kBoundary = "----cgihost-test-7d41f9c2a8";
constexpr const char* kJson = "application/json";
constexpr size_t kMiB = 1024 * 1024;

std::string directory_from_env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        throw std::runtime_error(std::string(name) + " is not set; run the tests with meson test");
    }
    return value;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// ---- multipart/form-data, built by hand (RFC 7578) -------------------------------------------

struct Part {
    std::string name;                     // the form field
    std::optional<std::string> filename;  // a file part when set
    std::string data;
    std::string content_type = "application/octet-stream";
};

Part file_part(const std::string& filename, std::string data) {
    return Part{"file", filename, std::move(data)};
}

std::string multipart_body(const std::vector<Part>& parts) {
    std::string body;
    for (const Part& part : parts) {
        body += std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"" +
                part.name + '"';
        if (part.filename) {
            body += "; filename=\"" + *part.filename + "\"\r\nContent-Type: " + part.content_type;
        }
        body += "\r\n\r\n" + part.data + "\r\n";
    }
    return body + "--" + kBoundary + "--\r\n";
}

// ---- What the pages say ------------------------------------------------------------------------

struct UploadedRow {
    std::string link;         // the href, "download?file=<percent-encoded name>"
    std::string stored_name;  // as shown (HTML-escaped)
    std::string client_name;  // as shown (HTML-escaped)
    uint64_t size = 0;
    std::string content_type;
    std::string sha256;
};

// The cells of each <tr class="file"> row of a sample's table, markup inside a cell included.
// (Plain string search: GCC 12 warns about std::regex under the sanitizers.)
std::vector<std::vector<std::string>> file_rows(const std::string& page) {
    const std::string row_start = "<tr class=\"file\">";
    std::vector<std::vector<std::string>> rows;
    for (size_t at = page.find(row_start); at != std::string::npos; at = page.find(row_start, at)) {
        size_t row_end = page.find("</tr>", at);
        std::string row = page.substr(at, row_end - at);
        std::vector<std::string> cells;
        for (size_t cell = row.find("<td>"); cell != std::string::npos;
             cell = row.find("<td>", cell)) {
            size_t close = row.find("</td>", cell);
            cells.push_back(row.substr(cell + 4, close - cell - 4));
            cell = close;
        }
        rows.push_back(std::move(cells));
        at = row_end;
    }
    return rows;
}

// The text between the first '>' and the next '<' of `html`: "<a href=...>name</a>" → name.
std::string inner_text(const std::string& html) {
    size_t open = html.find('>');
    if (open == std::string::npos) return html;
    return html.substr(open + 1, html.find('<', open) - open - 1);
}

std::string href_of(const std::string& html) {
    size_t start = html.find("href=\"");
    if (start == std::string::npos) return "";
    start += 6;
    return html.substr(start, html.find('"', start) - start);
}

std::vector<UploadedRow> uploaded_rows(const std::string& page) {
    std::vector<UploadedRow> rows;
    for (const auto& cells : file_rows(page)) {
        if (cells.size() != 5) {
            ADD_FAILURE() << "an upload row has " << cells.size() << " cells";
            continue;
        }
        rows.push_back({href_of(cells[0]), inner_text(cells[0]), cells[1], std::stoull(cells[2]),
                        cells[3], inner_text(cells[4])});
    }
    return rows;
}

// Stored name (as shown) → size, from the download listing.
std::map<std::string, uint64_t> listed_files(const std::string& page) {
    std::map<std::string, uint64_t> files;
    for (const auto& cells : file_rows(page)) {
        if (cells.size() == 2) files[inner_text(cells[0])] = std::stoull(cells[1]);
    }
    return files;
}

struct ChatMessage {
    uint64_t id = 0;
    std::string nick;
    std::string text;
};

// Reads a JSON string starting at its opening quote; moves `at` past the closing one. Enough
// JSON for the chat's answers: the escapes it writes, \u00XX included.
std::string read_json_string(const std::string& json, size_t& at) {
    std::string value;
    for (++at; at < json.size() && json[at] != '"'; ++at) {
        if (json[at] != '\\') {
            value += json[at];
            continue;
        }
        char escape = json[++at];
        switch (escape) {
            case 'n':
                value += '\n';
                break;
            case 't':
                value += '\t';
                break;
            case 'r':
                value += '\r';
                break;
            case 'u':
                value += static_cast<char>(std::stoi(json.substr(at + 1, 4), nullptr, 16));
                at += 4;
                break;
            default:
                value += escape;
        }
    }
    ++at;
    return value;
}

std::vector<ChatMessage> chat_messages(const std::string& json) {
    std::vector<ChatMessage> messages;
    for (size_t at = json.find("{\"id\":"); at != std::string::npos;
         at = json.find("{\"id\":", at)) {
        ChatMessage message;
        message.id = std::stoull(json.substr(at + 6));
        at = json.find("\"nick\":", at) + 7;
        message.nick = read_json_string(json, at);
        at = json.find("\"text\":", at) + 7;
        message.text = read_json_string(json, at);
        messages.push_back(std::move(message));
    }
    return messages;
}

uint64_t chat_last_id(const std::string& json) {
    size_t at = json.rfind("\"last_id\":");
    return at == std::string::npos ? UINT64_MAX : std::stoull(json.substr(at + 10));
}

// ---- The fixture --------------------------------------------------------------------------

class SamplesData : public ::testing::Test {
  protected:
    void SetUp() override {
        data_.let_anyone_write();  // as scripts/serve hands build-release/data to them
        start();
    }

    // Runs the server on the built samples with a fresh data directory; `extra` are more flags.
    // `launcher` runs cgihost in its place (see TestServer).
    void start(const std::vector<std::string>& extra = {}, const std::string& chat_wait = "2",
               const std::string& job_seconds = "2",
               const std::vector<std::string>& launcher = {}) {
        std::vector<std::string> args{"--cgi-dir",     directory_from_env("CGIHOST_SAMPLES_DIR"),
                                      "--docroot",     directory_from_env("CGIHOST_WWW_DIR"),
                                      "--cgi-env-set", "CGIHOST_DATA_DIR=" + data_.path().string(),
                                      "--cgi-env-set", "CGIHOST_CHAT_WAIT=" + chat_wait,
                                      "--cgi-env-set", "CGIHOST_JOB_SECONDS=" + job_seconds};
        args.insert(args.end(), extra.begin(), extra.end());
        server_.reset();
        server_ = std::make_unique<TestServer>(args, true, launcher);
    }

    HttpResponse request(const std::string& method, const std::string& target,
                         const HeaderList& headers = {}, const std::string& body = {}) const {
        auto response = http_request(server_->port(), method, target, headers, body);
        if (!response) throw std::runtime_error("no response to " + method + ' ' + target);
        return *response;
    }

    HttpResponse get(const std::string& target, const HeaderList& headers = {}) const {
        return request("GET", target, headers);
    }

    HttpResponse upload(const std::vector<Part>& parts) const {
        return request(
            "POST", "/cgi-bin/upload",
            {{"Content-Type", std::string("multipart/form-data; boundary=") + kBoundary}},
            multipart_body(parts));
    }

    HttpResponse download(const std::string& stored_name, const HeaderList& headers = {}) const {
        return get("/cgi-bin/download?file=" + encode_query(stored_name), headers);
    }

    HttpResponse post_chat(const std::string& nick, const std::string& message,
                           bool json = true) const {
        HeaderList headers{{"Content-Type", "application/x-www-form-urlencoded"}};
        if (json) headers.emplace_back("Accept", kJson);
        return request("POST", "/cgi-bin/chat", headers,
                       "nick=" + encode_query(nick) + "&message=" + encode_query(message));
    }

    std::filesystem::path uploads() const { return data_ / "uploads"; }

    // Every name in uploads/, dotfiles (upload's temporary files) included, but for upload's
    // lock and its record of what it stored, which stay once it has stored anything.
    std::set<std::string> files_in_uploads() const {
        std::set<std::string> names;
        std::error_code error;
        for (auto it = std::filesystem::directory_iterator(uploads(), error);
             !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
            std::string name = it->path().filename().string();
            if (name != ".lock" && name != ".stored") names.insert(name);
        }
        return names;
    }

    void expect_no_temporary_files() const {
        for (const std::string& name : files_in_uploads()) {
            EXPECT_FALSE(name.starts_with(".")) << "left behind: " << name;
        }
    }

    // Uploads `data` as `filename` alone, checks what the upload page reports, and returns the
    // name it was stored under.
    std::string upload_one(const std::string& filename, const std::string& data) const {
        HttpResponse response = upload({file_part(filename, data)});
        EXPECT_EQ(response.status, 200) << response.body;
        std::vector<UploadedRow> rows = uploaded_rows(response.body);
        if (rows.size() != 1) {
            ADD_FAILURE() << "expected one stored file in:\n" << response.body;
            return "";
        }
        EXPECT_EQ(rows[0].size, data.size());
        EXPECT_EQ(rows[0].sha256, sha256_hex(data));
        return rows[0].stored_name;
    }

    void expect_round_trip(const std::string& filename, const std::string& data) const {
        SCOPED_TRACE(filename + ", " + std::to_string(data.size()) + " bytes");
        std::string stored = upload_one(filename, data);
        ASSERT_FALSE(stored.empty());
        EXPECT_EQ(listed_files(get("/cgi-bin/download").body)[stored], data.size());
        HttpResponse response = download(stored);
        EXPECT_EQ(response.status, 200);
        EXPECT_EQ(response.header("Content-Type"), "application/octet-stream");
        EXPECT_EQ(response.header("Content-Length"), std::to_string(data.size()));
        EXPECT_EQ(response.body.size(), data.size());
        EXPECT_EQ(sha256_hex(response.body), sha256_hex(data));
    }

    TempDir data_;
    std::unique_ptr<TestServer> server_;
};

// ---- upload and download ---------------------------------------------------------------------

TEST_F(SamplesData, FilesOfZeroOneAndAMebibyteComeBackByteForByte) {
    expect_round_trip("empty.bin", "");
    expect_round_trip("one.bin", "x");
    expect_round_trip("mebibyte.bin", pseudo_random_bytes(kMiB, 1));
    expect_no_temporary_files();
}

TEST_F(SamplesData, AFiftyMebibyteFileComesBackByteForByte) {
    expect_round_trip("large.bin", pseudo_random_bytes(50 * kMiB, 2));
    expect_no_temporary_files();
}

TEST_F(SamplesData, SeveralFilesAndTheirDescriptionTravelInOneRequest) {
    Part description{"description", std::nullopt, "Holiday <photos> & notes"};
    HttpResponse response =
        upload({file_part("a.txt", "alpha"), description, file_part("b.txt", "bravo!")});
    ASSERT_EQ(response.status, 200) << response.body;
    std::vector<UploadedRow> rows = uploaded_rows(response.body);
    ASSERT_EQ(rows.size(), 2u) << response.body;
    EXPECT_EQ(rows[0].stored_name, "a.txt");
    EXPECT_EQ(rows[0].sha256, sha256_hex("alpha"));
    EXPECT_EQ(rows[1].stored_name, "b.txt");
    EXPECT_EQ(rows[1].size, 6u);
    EXPECT_THAT(response.body, HasSubstr("Holiday &lt;photos&gt; &amp; notes"));
    EXPECT_EQ(download("b.txt").body, "bravo!");
}

// Issue 12 item 6: a name means one file. Uploading it again replaces it, as in a folder,
// rather than piling up name-1, name-2... (which once stored one name 30 times).
TEST_F(SamplesData, TheSameNameAgainReplacesTheEarlierFile) {
    EXPECT_EQ(upload_one("same.txt", "first"), "same.txt");
    HttpResponse again = upload({file_part("same.txt", "second!")});
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_THAT(again.body, HasSubstr("replaced the file of that name"));
    EXPECT_EQ(download("same.txt").body, "second!");
    // Two files of one request that come to the same name: the later one is kept.
    HttpResponse both = upload({file_part("twice.txt", "one"), file_part("twice.txt", "two")});
    ASSERT_EQ(both.status, 200) << both.body;
    EXPECT_EQ(uploaded_rows(both.body).size(), 1u);
    EXPECT_EQ(download("twice.txt").body, "two");
    EXPECT_EQ(listed_files(get("/cgi-bin/download").body),
              (std::map<std::string, uint64_t>{{"same.txt", 7}, {"twice.txt", 3}}));
    expect_no_temporary_files();
}

// A name the uploads directory cannot take (here a directory has it) fails the request before
// anything is replaced: the earlier file of another name in the same request stays as it was.
TEST_F(SamplesData, AnUploadThatCannotStoreEveryFileReplacesNothing) {
    EXPECT_EQ(upload_one("kept.txt", "old contents"), "kept.txt");
    std::filesystem::create_directory(uploads() / "taken.txt");
    HttpResponse refused =
        upload({file_part("kept.txt", "new contents"), file_part("taken.txt", "x")});
    EXPECT_EQ(refused.status, 500) << refused.body;
    EXPECT_EQ(download("kept.txt").body, "old contents");
    std::filesystem::remove(uploads() / "taken.txt");
    expect_no_temporary_files();
}

// A request killed outright (SIGKILL, a crash) cannot remove its temporaries: the next upload
// removes those older than an hour, and leaves a fresh one (another request's) alone.
TEST_F(SamplesData, AnUploadRemovesTemporariesLeftByAKilledRequest) {
    EXPECT_EQ(upload_one("first.txt", "1"), "first.txt");
    for (const char* name : {".upload-OLD123", ".tmp-OLD123", ".upload-NEW123"}) {
        std::ofstream(uploads() / name) << std::string(1000, 'x');
    }
    const auto two_hours_ago =
        std::filesystem::file_time_type::clock::now() - std::chrono::hours(2);
    std::filesystem::last_write_time(uploads() / ".upload-OLD123", two_hours_ago);
    std::filesystem::last_write_time(uploads() / ".tmp-OLD123", two_hours_ago);
    EXPECT_EQ(upload_one("second.txt", "2"), "second.txt");
    EXPECT_EQ(files_in_uploads(),
              (std::set<std::string>{".upload-NEW123", "first.txt", "second.txt"}));
}

TEST_F(SamplesData, HostileFileNamesAreSanitisedAndShownEscaped) {
    HttpResponse response =
        upload({file_part("../../etc/passwd", "p"), file_part(".htaccess", "h"),
                file_part("<b>x.txt", "b"), file_part("C:\\Users\\me\\win.txt", "w"),
                file_part("..", "d")});
    ASSERT_EQ(response.status, 200) << response.body;
    std::vector<std::string> stored;
    for (const UploadedRow& row : uploaded_rows(response.body)) {
        stored.push_back(row.stored_name);
    }
    EXPECT_EQ(stored,
              (std::vector<std::string>{"passwd", "htaccess", "_b_x.txt", "win.txt", "file"}));
    EXPECT_EQ(files_in_uploads(),
              (std::set<std::string>{"passwd", "htaccess", "_b_x.txt", "win.txt", "file"}));
    EXPECT_FALSE(std::filesystem::exists(data_ / "etc"));
    EXPECT_THAT(response.body, HasSubstr("<td>&lt;b&gt;x.txt</td>"));
    EXPECT_THAT(response.body, Not(HasSubstr("<b>x.txt")));
    EXPECT_EQ(download("_b_x.txt").body, "b");
}

TEST_F(SamplesData, AnUploadOverTheLimitIs413AndLeavesNothing) {
    start({"--cgi-env-set", "CGIHOST_UPLOAD_LIMIT=2048"});
    HttpResponse refused = upload({file_part("big.bin", std::string(4096, 'b'))});
    EXPECT_EQ(refused.status, 413);
    EXPECT_THAT(refused.body, HasSubstr("2048"));
    EXPECT_TRUE(files_in_uploads().empty());
    // Just under the limit (with the multipart framing) is still fine.
    HttpResponse accepted = upload({file_part("small.bin", std::string(1024, 's'))});
    EXPECT_EQ(accepted.status, 200);
    EXPECT_EQ(files_in_uploads(), std::set<std::string>{"small.bin"});
}

// Issue 12 item 6: one request stored 200 files. By default it may carry ten.
TEST_F(SamplesData, MoreFilesInOneRequestThanTheLimitIs413AndLeavesNothing) {
    std::vector<Part> eleven;
    for (int i = 0; i < 11; ++i) {
        eleven.push_back(file_part("f" + std::to_string(i) + ".txt", "x"));
    }
    HttpResponse refused = upload(eleven);
    EXPECT_EQ(refused.status, 413) << refused.body;
    EXPECT_EQ(refused.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_THAT(refused.body, HasSubstr("at most 10 files"));
    EXPECT_TRUE(files_in_uploads().empty());
    eleven.pop_back();
    EXPECT_EQ(upload(eleven).status, 200);

    start({"--cgi-env-set", "CGIHOST_UPLOAD_MAX_FILES=2"});
    HttpResponse three =
        upload({file_part("a.txt", "a"), file_part("b.txt", "b"), file_part("c.txt", "c")});
    EXPECT_EQ(three.status, 413);
    EXPECT_THAT(three.body, HasSubstr("at most 2 files"));
    EXPECT_EQ(listed_files(get("/cgi-bin/download").body).size(), 10u);
}

// Issue 12 item 6: 300 × 1 MiB went through. The directory has a quota, in bytes and in files;
// a replacement counts only its difference.
TEST_F(SamplesData, AnUploadBeyondTheDirectorysQuotaIs507AndLeavesNothing) {
    start({"--cgi-env-set", "CGIHOST_UPLOAD_QUOTA=1000", "--cgi-env-set",
           "CGIHOST_UPLOAD_QUOTA_FILES=3"});
    EXPECT_EQ(upload_one("a.bin", std::string(400, 'a')), "a.bin");
    EXPECT_EQ(upload_one("b.bin", std::string(400, 'b')), "b.bin");
    HttpResponse too_big = upload({file_part("c.bin", std::string(300, 'c'))});
    EXPECT_EQ(too_big.status, 507) << too_big.body;
    EXPECT_EQ(too_big.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_THAT(too_big.body, HasSubstr("3 files and 1000 bytes"));
    // A replacement frees what it replaces: b.bin at 500 bytes makes 900.
    EXPECT_EQ(upload_one("b.bin", std::string(500, 'B')), "b.bin");
    EXPECT_EQ(upload_one("c.bin", std::string(100, 'c')), "c.bin");
    HttpResponse fourth_file = upload({file_part("d.bin", "")});
    EXPECT_EQ(fourth_file.status, 507) << fourth_file.body;
    // All of a request or none of it: the first file fits, the second does not.
    HttpResponse half = upload({file_part("a.bin", "small"), file_part("e.bin", "e")});
    EXPECT_EQ(half.status, 507);
    EXPECT_EQ(download("a.bin").body, std::string(400, 'a'));
    EXPECT_EQ(listed_files(get("/cgi-bin/download").body),
              (std::map<std::string, uint64_t>{{"a.bin", 400}, {"b.bin", 500}, {"c.bin", 100}}));
    expect_no_temporary_files();
}

// The quota is checked and the files put in place under one lock: uploads racing for the last
// room never take more than there is.
TEST_F(SamplesData, ConcurrentUploadsNeverExceedTheQuota) {
    constexpr int kClients = 12;
    constexpr int kRoom = 4;
    start({"--cgi-env-set", "CGIHOST_UPLOAD_QUOTA_FILES=" + std::to_string(kRoom)});
    std::vector<std::future<int>> statuses;
    for (int i = 0; i < kClients; ++i) {
        statuses.push_back(std::async(std::launch::async, [this, i] {
            return upload({file_part("racer" + std::to_string(i) + ".bin",
                                     pseudo_random_bytes(64 * 1024, 100 + i))})
                .status;
        }));
    }
    std::map<int, int> count_by_status;
    for (auto& status : statuses) {
        ++count_by_status[status.get()];
    }
    EXPECT_EQ(count_by_status[200], kRoom);
    EXPECT_EQ(count_by_status[507], kClients - kRoom);
    EXPECT_EQ(listed_files(get("/cgi-bin/download").body).size(), static_cast<size_t>(kRoom));
    expect_no_temporary_files();
}

// Issue 12 item 6: download sent whatever lay in uploads/. Now only what upload stored.
TEST_F(SamplesData, DownloadSendsAndListsOnlyWhatUploadStored) {
    upload_one("stored.txt", "mine");
    data_.write_file("uploads/planted.txt", "put there by someone else");
    data_.write_file("uploads/planted file.txt", "a name upload never gives");
    EXPECT_EQ(download("planted.txt").status, 404);
    EXPECT_EQ(download("planted file.txt").status, 404);
    EXPECT_EQ(download("stored.txt").body, "mine");
    HttpResponse listing = get("/cgi-bin/download");
    EXPECT_EQ(listed_files(listing.body), (std::map<std::string, uint64_t>{{"stored.txt", 4}}));
    EXPECT_THAT(listing.body, Not(HasSubstr("planted")));
}

TEST_F(SamplesData, MalformedMultipartIs4xxAndLeavesNothing) {
    const std::string head = std::string("--") + kBoundary +
                             "\r\nContent-Disposition: form-data; name=\"file\"; "
                             "filename=\"m.txt\"\r\n\r\n";
    const std::string type = std::string("multipart/form-data; boundary=") + kBoundary;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {type, head + "no closing boundary"},
        {type,
         std::string("--") + kBoundary + "\r\nno headers at all\r\n--" + kBoundary + "--\r\n"},
        {type, "not multipart at all"},
        {"multipart/form-data; boundary=other", head + "x\r\n--" + kBoundary + "--\r\n"},
        {"multipart/form-data", head + "x\r\n--" + kBoundary + "--\r\n"},
        {"text/plain", head + "x\r\n--" + kBoundary + "--\r\n"},
    };
    for (const auto& [content_type, body] : cases) {
        SCOPED_TRACE(content_type + " / " + body);
        HttpResponse response =
            request("POST", "/cgi-bin/upload", {{"Content-Type", content_type}}, body);
        EXPECT_GE(response.status, 400);
        EXPECT_LT(response.status, 500);
        EXPECT_EQ(response.header("Content-Type"), "text/html; charset=utf-8");
    }
    EXPECT_TRUE(files_in_uploads().empty());
}

// Runs the program itself, as the server does, and stops it the way the server stops a script
// whose client went away: SIGTERM, while the file is being written.
TEST_F(SamplesData, AnUploadStoppedWhileWritingLeavesNothing) {
    std::filesystem::path body = data_.write_file(
        "body", multipart_body({file_part("big.bin", pseudo_random_bytes(32 * kMiB, 4))}));
    const std::string program = directory_from_env("CGIHOST_SAMPLES_DIR") + "/upload";
    std::vector<std::string> environment = {
        "REQUEST_METHOD=POST", "CONTENT_LENGTH=" + std::to_string(std::filesystem::file_size(body)),
        std::string("CONTENT_TYPE=multipart/form-data; boundary=") + kBoundary,
        "CGIHOST_DATA_DIR=" + data_.path().string()};
    std::vector<char*> envp;
    for (std::string& entry : environment) {
        envp.push_back(entry.data());
    }
    envp.push_back(nullptr);

    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        int input = ::open(body.c_str(), O_RDONLY);
        int output = ::open("/dev/null", O_WRONLY);
        ::dup2(input, STDIN_FILENO);
        ::dup2(output, STDOUT_FILENO);
        char* argv[] = {const_cast<char*>(program.c_str()), nullptr};
        ::execve(program.c_str(), argv, envp.data());
        ::_exit(127);
    }
    auto writing = [&] {
        for (const std::string& name : files_in_uploads()) {
            if (name.starts_with(".upload-")) return true;
        }
        return false;
    };
    int status = 0;
    auto deadline = Clock::now() + kHangGuard;
    while (!writing() && ::waitpid(pid, &status, WNOHANG) == 0 && Clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
    }
    ASSERT_TRUE(writing()) << "never saw the temporary file";
    ::kill(pid, SIGTERM);
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM) << status;
    EXPECT_TRUE(files_in_uploads().empty());
}

// Through the server this time: a client that leaves halfway through the body never starts
// the program, and one that leaves after sending it all has it stopped wherever it is. Either
// way a file is stored whole or not at all.
TEST_F(SamplesData, AClientThatLeavesMidUploadLeavesNoPartialFile) {
    const std::string data = pseudo_random_bytes(32 * kMiB, 5);
    const std::string body = multipart_body({file_part("big.bin", data)});
    const std::string head = std::string("POST /cgi-bin/upload HTTP/1.1\r\nHost: x\r\n") +
                             "Content-Type: multipart/form-data; boundary=" + kBoundary +
                             "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    {
        HttpConnection connection(server_->port());
        connection.send_raw(head + body.substr(0, body.size() / 2));
        std::this_thread::sleep_for(200ms);
    }
    for (int delay_ms : {0, 50, 150, 400}) {
        HttpConnection connection(server_->port());
        connection.send_raw(head + body);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    }
    auto deadline = Clock::now() + kHangGuard;
    while (!children_of(server_->pid()).empty() && Clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(children_of(server_->pid()).empty());
    expect_no_temporary_files();
    for (const std::string& name : files_in_uploads()) {
        SCOPED_TRACE(name);
        EXPECT_EQ(sha256_hex(read_file(uploads() / name)), sha256_hex(data)) << "a partial file";
    }
    expect_round_trip("after.bin", "still works");
}

// RLIMIT_FSIZE stands in for a full disk: set on the server as it starts (prlimit(1) sets it
// and execs cgihost), it is inherited by every script the server starts, and it needs no tmpfs
// or mount privilege here or in CI. (Setting it on the running server would need
// CAP_SYS_RESOURCE: started as root, the server runs as another user.)
TEST_F(SamplesData, AFullDiskIs507AndLeavesNothingWhileOtherRequestsGoOn) {
    constexpr rlim_t kRoom = kMiB;
    const std::string room = std::to_string(kRoom);
    // The limit binds the server too: its own spooling of the 4 MiB body would meet it first
    // (and answer 507 itself), so bodies stay in its memory here and the sample meets it.
    start({"--body-spool-threshold", "8MiB"}, "2", "2",
          {"prlimit", "--fsize=" + room + ":" + room, "--"});

    HttpResponse full = upload({file_part("big.bin", pseudo_random_bytes(4 * kMiB, 7))});
    EXPECT_EQ(full.status, 507) << full.body;
    EXPECT_EQ(full.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_THAT(full.body, HasSubstr("no room"));
    EXPECT_TRUE(files_in_uploads().empty());

    // The first file fits and the second does not: the first is removed again.
    HttpResponse second = upload(
        {file_part("small.bin", "s"), file_part("big2.bin", pseudo_random_bytes(2 * kMiB, 8))});
    EXPECT_EQ(second.status, 507) << second.body;
    EXPECT_TRUE(files_in_uploads().empty());

    // Everything else goes on: a file that fits, the listing, a static page.
    expect_round_trip("fits.bin", pseudo_random_bytes(100 * 1024, 9));
    EXPECT_EQ(get("/").status, 200);
    EXPECT_EQ(files_in_uploads(), std::set<std::string>{"fits.bin"});
}

TEST_F(SamplesData, AnUploadWithoutAFileIs400AndAGetIs405) {
    HttpResponse only_text = upload({Part{"description", std::nullopt, "no file"}});
    EXPECT_EQ(only_text.status, 400);
    EXPECT_THAT(only_text.body, HasSubstr("no file"));
    // What a browser sends when no file was chosen: a file part with an empty name.
    HttpResponse nothing_chosen = upload({file_part("", "")});
    EXPECT_EQ(nothing_chosen.status, 400);
    HttpResponse get_request = get("/cgi-bin/upload");
    EXPECT_EQ(get_request.status, 405);
    EXPECT_EQ(get_request.header("Allow"), "POST");
    EXPECT_TRUE(files_in_uploads().empty());
}

TEST_F(SamplesData, DownloadRefusesNamesThatAreNotPlainFileNames) {
    data_.write_file("secret.txt", "outside the uploads");
    data_.write_file("uploads/.hidden", "a dotfile");
    // Made here as root: let the upload sample (another user, see SetUp) write into it.
    std::filesystem::permissions(uploads(), std::filesystem::perms(01777));
    upload_one("present.txt", "here");
    for (const char* query : {"../secret.txt", "..%2Fsecret.txt", ".hidden", "..", ".", "a%00b",
                              "uploads/present.txt", ""}) {
        SCOPED_TRACE(query);
        HttpResponse response = get(std::string("/cgi-bin/download?file=") + query);
        EXPECT_EQ(response.status, 400);
        EXPECT_THAT(response.body, Not(HasSubstr("outside the uploads")));
    }
    EXPECT_EQ(download("missing.txt").status, 404);
    EXPECT_EQ(download("present.txt").status, 200);
}

TEST_F(SamplesData, ContentDispositionCarriesTheStoredNameTwice) {
    // upload reduces "résumé v2.txt" to "r_sum__v2.txt"; download names it both ways.
    EXPECT_EQ(upload_one("résumé v2.txt", "cv"), "r_sum__v2.txt");
    HttpResponse response = download("r_sum__v2.txt");
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.body, "cv");
    EXPECT_EQ(response.header("Content-Disposition"),
              "attachment; filename=\"r_sum__v2.txt\"; filename*=UTF-8''r_sum__v2.txt");
}

TEST_F(SamplesData, TheListingLinksStoredFilesAndSkipsDotfiles) {
    upload_one("a-b_c.txt", "12345");
    data_.write_file("uploads/.upload-abc123", "half");
    HttpResponse listing = get("/cgi-bin/download");
    ASSERT_EQ(listing.status, 200);
    EXPECT_THAT(listing.body, HasSubstr("<a href=\"download?file=a-b_c.txt\">"
                                        "a-b_c.txt</a></td><td>5</td>"));
    EXPECT_THAT(listing.body, Not(HasSubstr("upload-abc123")));
    EXPECT_THAT(listing.body, Not(HasSubstr(".stored")));
    EXPECT_THAT(listing.body, Not(HasSubstr(".lock")));
}

TEST_F(SamplesData, WithXSendfileTheServerSendsTheFileAndHidesTheHeader) {
    // Without X-Sendfile the sample streams the file itself and ignores Range.
    std::string data = pseudo_random_bytes(kMiB, 3);
    std::string stored = upload_one("sent.bin", data);
    EXPECT_EQ(download(stored, {{"Range", "bytes=10-19"}}).status, 200);

    start({"--cgi-x-sendfile-root", data_.path().string()});
    HttpResponse whole = download(stored);
    EXPECT_EQ(whole.status, 200);
    EXPECT_EQ(sha256_hex(whole.body), sha256_hex(data));
    EXPECT_FALSE(whole.has_header("X-Sendfile"));
    EXPECT_EQ(whole.header("Content-Type"), "application/octet-stream");
    EXPECT_THAT(whole.header("Content-Disposition"), HasSubstr("filename=\"sent.bin\""));
    // Ranges come from the server's own file sending: proof that X-Sendfile was used.
    HttpResponse part = download(stored, {{"Range", "bytes=10-19"}});
    EXPECT_EQ(part.status, 206);
    EXPECT_EQ(part.body, data.substr(10, 10));
    EXPECT_FALSE(part.has_header("X-Sendfile"));
}

// ---- chat ---------------------------------------------------------------------------------

TEST_F(SamplesData, ConcurrentChatPostersLoseAndInterleaveNothing) {
    constexpr int kPosters = 20;
    constexpr int kMessagesEach = 5;
    // A poster's next POST may arrive while its previous script has answered but is not yet
    // reaped, and a script counts against its client's --cgi-max-per-client (32) until then:
    // 20 posters can hold up to 40 for a moment, and the cap's 503 is not what this tests.
    start({"--cgi-max-per-client", "64"});
    // Long texts, so that two records written into each other could not go unnoticed.
    auto text_of = [](int poster, int message) {
        return "poster " + std::to_string(poster) + " message " + std::to_string(message) + ' ' +
               std::string(1500, static_cast<char>('a' + poster));
    };
    std::vector<std::future<std::vector<int>>> posters;
    for (int poster = 0; poster < kPosters; ++poster) {
        posters.push_back(std::async(std::launch::async, [&, poster] {
            std::vector<int> statuses;
            for (int message = 0; message < kMessagesEach; ++message) {
                auto response = http_request(
                    server_->port(), "POST", "/cgi-bin/chat",
                    {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", kJson}},
                    "nick=p" + std::to_string(poster) +
                        "&message=" + encode_query(text_of(poster, message)));
                statuses.push_back(response ? response->status : 0);
            }
            return statuses;
        }));
    }
    for (auto& poster : posters) {
        EXPECT_EQ(poster.get(), std::vector<int>(kMessagesEach, 200)) << server_->error_log();
    }

    HttpResponse all = get("/cgi-bin/chat?since=0");
    ASSERT_EQ(all.status, 200);
    std::vector<ChatMessage> messages = chat_messages(all.body);
    ASSERT_EQ(messages.size(), static_cast<size_t>(kPosters * kMessagesEach));
    std::multiset<std::string> texts;
    for (size_t i = 0; i < messages.size(); ++i) {
        EXPECT_EQ(messages[i].id, i + 1) << "ids must be unique, increasing and gapless";
        texts.insert(messages[i].text);
    }
    for (int poster = 0; poster < kPosters; ++poster) {
        for (int message = 0; message < kMessagesEach; ++message) {
            EXPECT_EQ(texts.count(text_of(poster, message)), 1u) << poster << '/' << message;
        }
    }
    EXPECT_EQ(chat_last_id(all.body), messages.size());
}

// The poll's own wait (600 s) and the CGI timeout lie beyond the hang guard, so an answer within
// it came because of the post, not because the wait ran out. How soon is measured in bench/.
TEST_F(SamplesData, ALongPollReturnsAsSoonAsAMessageIsPosted) {
    start({"--cgi-timeout", "600"}, "600");
    ASSERT_EQ(post_chat("ann", "first").status, 200);
    auto poll = std::async(std::launch::async, [&] { return get("/cgi-bin/chat?since=1"); });
    EXPECT_EQ(poll.wait_for(500ms), std::future_status::timeout) << "answered without waiting";
    ASSERT_EQ(post_chat("bob", "second").status, 200);
    ASSERT_EQ(poll.wait_for(kHangGuard), std::future_status::ready) << "the post did not wake it";
    HttpResponse response = poll.get();
    std::vector<ChatMessage> messages = chat_messages(response.body);
    ASSERT_EQ(messages.size(), 1u) << response.body;
    EXPECT_EQ(messages[0].id, 2u);
    EXPECT_EQ(messages[0].nick, "bob");
    EXPECT_EQ(messages[0].text, "second");
}

TEST_F(SamplesData, ALongPollWithNothingNewEndsEmptyAfterTheWait) {
    ASSERT_EQ(post_chat("ann", "only one").status, 200);
    auto start_time = Clock::now();
    HttpResponse response = get("/cgi-bin/chat?since=1");
    double waited = seconds_since(start_time);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.header("Content-Type"), kJson);
    EXPECT_THAT(response.body, HasSubstr("\"messages\":[]"));
    EXPECT_EQ(chat_last_id(response.body), 1u);
    EXPECT_GE(waited, 1.8);  // CGIHOST_CHAT_WAIT=2
}

// With a wait (600 s) beyond the hang guard, any answer at all proves it did not wait.
TEST_F(SamplesData, ALongPollFromBeyondTheNewestIdAnswersAtOnceWithTheRealLastId) {
    start({"--cgi-timeout", "600"}, "600");
    ASSERT_EQ(post_chat("ann", "only one").status, 200);
    // An id beyond the newest (a reset room) is answered at once with the real last id.
    auto ahead = std::async(std::launch::async, [&] { return get("/cgi-bin/chat?since=99"); });
    ASSERT_EQ(ahead.wait_for(kHangGuard), std::future_status::ready) << "it waited";
    EXPECT_EQ(chat_last_id(ahead.get().body), 1u);
}

TEST_F(SamplesData, ChatRefusesEmptyOrOverlongNicksAndMessagesWith400) {
    const std::vector<std::pair<std::string, std::string>> refused = {
        {"", "hello"},
        {"ann", ""},
        {"   ", "hello"},
        {"ann", " \r\n "},
        {std::string(33, 'n'), "hello"},
        {"ann", std::string(2001, 'm')},
        {"line\nbreak", "hello"},
    };
    for (const auto& [nick, message] : refused) {
        SCOPED_TRACE("nick '" + nick + "', message of " + std::to_string(message.size()));
        EXPECT_EQ(post_chat(nick, message).status, 400);
        EXPECT_EQ(post_chat(nick, message, false).status, 400);
    }
    EXPECT_EQ(get("/cgi-bin/chat?since=abc").status, 400);
    EXPECT_EQ(chat_messages(get("/cgi-bin/chat?since=0").body).size(), 0u);
    // The limits count characters, not bytes: 32 and 2000 two-byte characters are fine.
    std::string nick, message;
    for (int i = 0; i < 32; ++i) {
        nick += "é";
    }
    for (int i = 0; i < 2000; ++i) {
        message += "ü";
    }
    HttpResponse accepted = post_chat(nick, message);
    EXPECT_EQ(accepted.status, 200);
    EXPECT_EQ(accepted.body, "{\"ok\":true,\"id\":1}\n");
}

TEST_F(SamplesData, AChatMessageWithMarkupComesBackEscaped) {
    const std::string attack = "<script>alert(\"x\")</script> & 'q'\nsecond line";
    ASSERT_EQ(post_chat("<i>mallory</i>", attack).status, 200);

    HttpResponse json = get("/cgi-bin/chat?since=0");
    EXPECT_THAT(json.body, Not(HasSubstr("<script>")));
    std::vector<ChatMessage> messages = chat_messages(json.body);
    ASSERT_EQ(messages.size(), 1u) << json.body;
    EXPECT_EQ(messages[0].text, attack);
    EXPECT_EQ(messages[0].nick, "<i>mallory</i>");

    HttpResponse page = get("/cgi-bin/chat");
    EXPECT_EQ(page.status, 200);
    EXPECT_THAT(page.body, Not(HasSubstr("<script>alert")));
    EXPECT_THAT(page.body, Not(HasSubstr("<i>mallory")));
    EXPECT_THAT(page.body, HasSubstr("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; "
                                     "&#39;q&#39;<br>second line"));
    EXPECT_THAT(page.body, HasSubstr("&lt;i&gt;mallory&lt;/i&gt;"));
    EXPECT_THAT(page.body, HasSubstr("<form method=\"post\" action=\"chat\">"));
}

TEST_F(SamplesData, AChatPostFromAFormRedirectsBackToTheRoom) {
    HttpResponse response = post_chat("ann", "hi", false);
    EXPECT_EQ(response.status, 303);
    EXPECT_THAT(response.header("Location"), ::testing::EndsWith("/cgi-bin/chat"));
    EXPECT_THAT(get("/cgi-bin/chat").body, HasSubstr("<span class=\"text\">hi</span>"));
}

// ---- background --------------------------------------------------------------------------------

// The id in the page's "background?job=<32 hex digits>" link, or "".
std::string job_link(const std::string& page) {
    const std::string marker = "background?job=";
    size_t at = page.find(marker);
    if (at == std::string::npos) return "";
    std::string id = page.substr(at + marker.size(), 32);
    bool hex = id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
                   return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
               });
    return hex ? id : "";
}

// Order, not speed: the 202 and a status page saying "Still running" both arrive before the
// job (paced to 5 s) is done, and then it finishes; only the lower bound on its length is timed.
TEST_F(SamplesData, ABackgroundJobAnswersAtOnceAndFinishesLater) {
    start({}, "2", "5");
    auto started = Clock::now();
    HttpResponse accepted = request("POST", "/cgi-bin/background");
    EXPECT_EQ(accepted.status, 202);
    std::string id = job_link(accepted.body);
    ASSERT_FALSE(id.empty()) << accepted.body;

    HttpResponse running = get("/cgi-bin/background?job=" + id);
    EXPECT_EQ(running.status, 200);
    EXPECT_THAT(running.body, HasSubstr("Still running")) << "the response waited for the work";
    HttpResponse status;
    while (seconds_since(started) < kHangGuard.count()) {
        status = get("/cgi-bin/background?job=" + id);
        if (status.body.find("Finished") != std::string::npos) break;
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_GE(seconds_since(started), 4.8);  // CGIHOST_JOB_SECONDS=5
    EXPECT_THAT(status.body, HasSubstr("There are 78498 primes below 1000000."))
        << server_->error_log();
}

TEST_F(SamplesData, AnUnknownJobIs404AndAMalformedIdIs400) {
    EXPECT_EQ(get("/cgi-bin/background?job=0123456789abcdef0123456789abcdef").status, 404);
    for (const char* id : {"", "xyz", "../../uploads/x", "0123456789ABCDEF0123456789ABCDEF"}) {
        EXPECT_EQ(get(std::string("/cgi-bin/background?job=") + id).status, 400) << id;
    }
}

// ---- the pages in www/ -----------------------------------------------------------------------

TEST_F(SamplesData, TheFormPagesPointAtTheSamples) {
    HttpResponse upload_page = get("/upload.html");
    EXPECT_EQ(upload_page.status, 200);
    EXPECT_THAT(upload_page.body, HasSubstr("enctype=\"multipart/form-data\""));
    EXPECT_THAT(upload_page.body, HasSubstr("type=\"file\" name=\"file\" multiple"));
    EXPECT_THAT(upload_page.body, HasSubstr("name=\"description\""));

    HttpResponse chat_page = get("/chat.html");
    EXPECT_THAT(chat_page.body, HasSubstr("<script src=\"/chat.js\""));
    EXPECT_THAT(chat_page.body, HasSubstr("<a href=\"/cgi-bin/chat\">"));
    HttpResponse script = get("/chat.js");
    EXPECT_EQ(script.status, 200);
    EXPECT_THAT(script.body, HasSubstr("since="));
    EXPECT_THAT(script.body, HasSubstr("textContent"));
    EXPECT_THAT(script.body, Not(HasSubstr("innerHTML =")));

    HttpResponse background_page = get("/background.html");
    EXPECT_THAT(background_page.body,
                HasSubstr("<form method=\"post\" action=\"/cgi-bin/background\">"));
}

}  // namespace
}  // namespace cgihost::testing
