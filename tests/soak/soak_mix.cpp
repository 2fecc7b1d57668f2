#include "soak_mix.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "sha256.hpp"

namespace cgihost::soak {
namespace {

using testing::HttpResponse;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kPattern =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";  // test_cgi's bytes=
constexpr const char* kBoundary = "----cgihost-soak-5e0b7a913c2d46f8";
constexpr const char* kFormType = "application/x-www-form-urlencoded";
constexpr size_t kKiB = 1024;
constexpr size_t kSmallUploadMax = 32 * kKiB;
constexpr size_t kLargeUploadMax = 1024 * kKiB;
constexpr size_t kLargeUploadOneIn = 8;
constexpr size_t kPostBodyMax = 256 * kKiB;
constexpr size_t kCgiBytesMax = 512 * kKiB;
constexpr size_t kReconnectOneIn = 30;  // sometimes start afresh, so accept() stays in the mix
constexpr size_t kMaxRecordedErrors = 5;
// Generous: a loaded machine with sanitizer builds can take many seconds to start a script, and
// a slow answer is not what the soak looks for (a lost one is).
constexpr auto kResponseTimeout = std::chrono::seconds(120);

struct Weight {
    Kind kind;
    unsigned per_mille;
};

// How often each operation comes up; the weights add up to 1000. Static files are the bulk of
// real traffic; deliberate faults are rare but steady.
constexpr Weight kWeights[] = {
    {Kind::static_file, 320}, {Kind::static_range, 40},  {Kind::static_missing, 20},
    {Kind::hello, 60},        {Kind::hello_get, 50},     {Kind::hello_post, 50},
    {Kind::form, 50},         {Kind::shell_script, 20},  {Kind::environment, 40},
    {Kind::cookies, 30},      {Kind::redirect, 30},      {Kind::upload, 60},
    {Kind::chat, 40},         {Kind::cgi_post_body, 80}, {Kind::cgi_bytes, 80},
    {Kind::cgi_crash, 20},    {Kind::cgi_timeout, 5},    {Kind::client_gone, 5},
};

constexpr unsigned total_weight() {
    unsigned total = 0;
    for (const Weight& weight : kWeights)
        total += weight.per_mille;
    return total;
}
static_assert(total_weight() == 1000);

constexpr std::string_view kNames[kKindCount] = {
    "static_file", "static_range",  "static_missing", "hello",     "hello_get",   "hello_post",
    "form",        "shell_script",  "environment",    "cookies",   "redirect",    "upload",
    "chat",        "cgi_post_body", "cgi_bytes",      "cgi_crash", "cgi_timeout", "client_gone",
};

size_t index_of(Kind kind) {
    return static_cast<size_t>(kind);
}

bool contains(const std::string& text, std::string_view fragment) {
    return text.find(fragment) != std::string::npos;
}

std::string multipart_file(const std::string& filename, const std::string& data) {
    return std::string("--") + kBoundary +
           "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename +
           "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + "\r\n--" + kBoundary +
           "--\r\n";
}

// The <td> cells of the first <tr class="file"> row of an upload page.
std::vector<std::string> first_file_row(const std::string& page) {
    std::vector<std::string> cells;
    size_t row = page.find("<tr class=\"file\">");
    if (row == std::string::npos) return cells;
    size_t row_end = page.find("</tr>", row);
    for (size_t cell = page.find("<td>", row); cell < row_end; cell = page.find("<td>", cell)) {
        size_t close = page.find("</td>", cell);
        cells.push_back(page.substr(cell + 4, close - cell - 4));
        cell = close;
    }
    return cells;
}

// "<a href=...>name</a>" → name.
std::string inner_text(const std::string& html) {
    size_t open = html.find('>');
    if (open == std::string::npos) return html;
    return html.substr(open + 1, html.find('<', open) - open - 1);
}

// The value of cookie `name` among a response's Set-Cookie headers, or "".
std::string set_cookie_value(const HttpResponse& response, const std::string& name) {
    for (const auto& [header, value] : response.headers) {
        if (header == "Set-Cookie" && value.rfind(name + "=", 0) == 0) {
            return value.substr(name.size() + 1, value.find(';') - name.size() - 1);
        }
    }
    return {};
}

}  // namespace

std::string_view kind_name(Kind kind) {
    return kNames[index_of(kind)];
}

void Tally::add(const Tally& other) {
    for (size_t i = 0; i < kKindCount; ++i) {
        requests[i] += other.requests[i];
        errors[i] += other.errors[i];
    }
    uploaded_bytes += other.uploaded_bytes;
    connections += other.connections;
    for (const std::string& error : other.first_errors) {
        if (first_errors.size() < 4 * kMaxRecordedErrors) first_errors.push_back(error);
    }
}

uint64_t Tally::total_requests() const {
    uint64_t total = 0;
    for (uint64_t count : requests)
        total += count;
    return total;
}

uint64_t Tally::total_errors() const {
    uint64_t total = 0;
    for (uint64_t count : errors)
        total += count;
    return total;
}

Client::Client(const Site& site, uint64_t seed, int id)
    : site_(site), state_(seed * 0x9E3779B97F4A7C15ull + 1), id_(id) {}

uint64_t Client::next_random() {
    // xorshift64: deterministic per client, so a failing run can be replayed with the same seed.
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
}

std::string Client::token() {
    return "c" + std::to_string(id_) + "n" + std::to_string(++serial_) + "r" +
           std::to_string(next_random() % 100000);
}

std::optional<HttpResponse> Client::exchange(const std::string& method, const std::string& target,
                                             const Headers& headers, const std::string& body) {
    if (!connection_ || !connection_->connected()) {
        connection_ = std::make_unique<testing::HttpConnection>(site_.port);
        ++tally_.connections;
        exchanges_on_connection_ = 0;
    }
    idle_before_last_ =
        exchanges_on_connection_ == 0
            ? 0
            : std::chrono::duration<double>(std::chrono::steady_clock::now() - last_answer_at_)
                  .count();
    ++exchanges_on_connection_;
    ++tally_.requests[index_of(current_)];
    ++requests_this_operation_;
    auto started = std::chrono::steady_clock::now();
    std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& [name, value] : headers)
        request += name + ": " + value + "\r\n";
    if (method == "POST") request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    connection_->send_raw(request + "\r\n" + body);
    auto response = connection_->read_response(false, kResponseTimeout);
    last_seconds_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    last_answer_at_ = std::chrono::steady_clock::now();
    if (!response || response->closed) connection_.reset();
    return response;
}

bool Client::fail(Kind kind, const std::string& what, const std::optional<HttpResponse>& response) {
    ++tally_.errors[index_of(kind)];
    if (tally_.first_errors.size() < kMaxRecordedErrors) {
        std::string detail = response ? "status " + std::to_string(response->status) + ", " +
                                            std::to_string(response->body.size()) + " body bytes"
                                      : "no response";
        detail += " after " + std::to_string(last_seconds_) + " s";
        detail += exchanges_on_connection_ <= 1
                      ? ", on a new connection"
                      : ", exchange " + std::to_string(exchanges_on_connection_) +
                            " on its connection, sent after " + std::to_string(idle_before_last_) +
                            " s idle";
        tally_.first_errors.push_back(std::string(kind_name(kind)) + ": " + what + " (" + detail +
                                      ")");
    }
    connection_.reset();  // whatever went wrong, do not build on it
    return false;
}

bool Client::expect(Kind kind, const std::optional<HttpResponse>& response, int status,
                    const std::vector<std::string>& fragments) {
    if (!response || response->status != status) {
        return fail(kind, "expected status " + std::to_string(status), response);
    }
    for (const std::string& fragment : fragments) {
        if (!contains(response->body, fragment)) {
            return fail(kind, "body lacks \"" + fragment.substr(0, 60) + "\"", response);
        }
    }
    return true;
}

int Client::run_one() {
    requests_this_operation_ = 0;
    if (random_below(kReconnectOneIn) == 0) connection_.reset();
    unsigned pick = static_cast<unsigned>(random_below(total_weight()));
    for (const Weight& weight : kWeights) {
        if (pick < weight.per_mille) {
            current_ = weight.kind;
            break;
        }
        pick -= weight.per_mille;
    }
    // In the order of Kind.
    using Operation = bool (Client::*)();
    static constexpr Operation kOperations[kKindCount] = {
        &Client::static_file, &Client::static_range,  &Client::static_missing,
        &Client::hello,       &Client::hello_get,     &Client::hello_post,
        &Client::form,        &Client::shell_script,  &Client::environment,
        &Client::cookies,     &Client::redirect,      &Client::upload,
        &Client::chat,        &Client::cgi_post_body, &Client::cgi_bytes,
        &Client::cgi_crash,   &Client::cgi_timeout,   &Client::client_gone,
    };
    (this->*kOperations[index_of(current_)])();
    return requests_this_operation_;
}

// ---- Static files ------------------------------------------------------------------------------

bool Client::static_file() {
    const auto& [path, content] = site_.static_files[random_below(site_.static_files.size())];
    auto response = exchange("GET", path);
    if (!expect(Kind::static_file, response, 200)) return false;
    if (response->body != content) return fail(Kind::static_file, path + " differs", response);
    return true;
}

bool Client::static_range() {
    const auto& [path, content] = site_.static_files[random_below(site_.static_files.size())];
    size_t first = random_below(content.size());
    size_t last = first + random_below(content.size() - first);
    auto response = exchange(
        "GET", path, {{"Range", "bytes=" + std::to_string(first) + "-" + std::to_string(last)}});
    if (!expect(Kind::static_range, response, 206)) return false;
    if (response->body != content.substr(first, last - first + 1)) {
        return fail(Kind::static_range, path + " slice differs", response);
    }
    return true;
}

bool Client::static_missing() {
    return expect(Kind::static_missing, exchange("GET", "/missing-" + token() + ".html"), 404);
}

// ---- The sample programs -------------------------------------------------------------------

bool Client::hello() {
    return expect(Kind::hello, exchange("GET", "/cgi-bin/hello"), 200,
                  {"<h1>Hello, world!</h1>", "</html>"});
}

bool Client::hello_get() {
    std::string first = token();
    std::string last = token();
    return expect(Kind::hello_get,
                  exchange("GET", "/cgi-bin/hello_get?first_name=" + first + "&last_name=" + last),
                  200, {"Hello, " + first + " " + last + "!", "<code>GET</code>"});
}

bool Client::hello_post() {
    std::string first = token();
    std::string last = token();
    return expect(Kind::hello_post,
                  exchange("POST", "/cgi-bin/hello_get", {{"Content-Type", kFormType}},
                           "first_name=" + first + "&last_name=" + last),
                  200, {"Hello, " + first + " " + last + "!", "<code>POST</code>"});
}

bool Client::form() {
    switch (random_below(4)) {
        case 0:
            return expect(Kind::form, exchange("GET", "/cgi-bin/radio?subject=physics"), 200,
                          {"You chose <strong>physics</strong>."});
        case 1:
            return expect(Kind::form, exchange("GET", "/cgi-bin/checkbox?maths=on&chemistry=on"),
                          200, {"<li>Maths</li>\n<li>Chemistry</li>"});
        case 2:
            return expect(Kind::form,
                          exchange("GET", "/cgi-bin/dropdown?subject=chemistry&days=mon&days=thu"),
                          200,
                          {"<strong class=\"chosen\">Chemistry</strong>",
                           "<li>Monday</li>\n<li>Thursday</li>"});
        default: {
            std::string word = token();
            return expect(Kind::form,
                          exchange("POST", "/cgi-bin/textarea", {{"Content-Type", kFormType}},
                                   "message=" + word),
                          200, {"<pre class=\"echo\">", word});
        }
    }
}

bool Client::shell_script() {
    // Python starts far slower than sh, so it gets one turn in four.
    std::string script = random_below(4) == 0 ? "hello.py" : "hello.sh";
    std::string name = token();
    return expect(Kind::shell_script, exchange("GET", "/cgi-bin/" + script + "?name=" + name), 200,
                  {"Hello, " + name + "!"});
}

bool Client::environment() {
    std::string probe = token();
    return expect(Kind::environment, exchange("GET", "/cgi-bin/env?probe=" + probe), 200,
                  {"<code>QUERY_STRING</code></td><td><code>probe=" + probe + "</code>",
                   "<code>REQUEST_METHOD</code></td><td><code>GET</code>"});
}

bool Client::cookies() {
    static constexpr const char* kColours[] = {"teal", "crimson", "indigo", "amber"};
    std::string colour = kColours[random_below(4)];
    auto saved = exchange("POST", "/cgi-bin/cookies", {{"Content-Type", kFormType}},
                          "action=save&colour=" + colour);
    if (!expect(Kind::cookies, saved, 303)) return false;
    // A signed id: 32 hex digits, '.', the issue time, '.', a 64-digit HMAC.
    std::string id = set_cookie_value(*saved, "session_id");
    if (id.size() < 32 + 1 + 1 + 1 + 64 || set_cookie_value(*saved, "colour") != colour) {
        return fail(Kind::cookies, "Set-Cookie lacks session_id or colour", saved);
    }
    return expect(Kind::cookies,
                  exchange("GET", "/cgi-bin/cookies",
                           {{"Cookie", "session_id=" + id + "; colour=" + colour}}),
                  200,
                  {"Welcome back. This program issued your session id",
                   "<strong class=\"chosen\">" + colour + "</strong>"});
}

bool Client::redirect() {
    if (random_below(2) == 0) {
        return expect(Kind::redirect, exchange("GET", "/cgi-bin/redirect?to=local"), 200,
                      {"<h1>Hello, world!</h1>"});
    }
    auto response = exchange("GET", "/cgi-bin/redirect?to=client");
    if (!expect(Kind::redirect, response, 302)) return false;
    if (!response->header("Location").ends_with("/cgi-bin/hello")) {
        return fail(Kind::redirect, "Location is " + response->header("Location"), response);
    }
    return true;
}

// Uploads a file under a name no other client uses, checks the page's size and digest, then
// downloads it and compares the digest of what came back.
bool Client::upload() {
    size_t limit = random_below(kLargeUploadOneIn) == 0 ? kLargeUploadMax : kSmallUploadMax;
    std::string data(random_below(limit + 1), '\0');
    for (char& byte : data)
        byte = static_cast<char>(next_random() >> 32);
    std::string name = "soak-" + token() + ".bin";
    std::string digest = testing::sha256_hex(data);
    auto stored =
        exchange("POST", "/cgi-bin/upload",
                 {{"Content-Type", std::string("multipart/form-data; boundary=") + kBoundary}},
                 multipart_file(name, data));
    if (!stored) return fail(Kind::upload, "POST upload of " + name + ": no answer", stored);
    if (!expect(Kind::upload, stored, 200, {digest})) return false;
    std::vector<std::string> cells = first_file_row(stored->body);
    if (cells.size() != 5 || inner_text(cells[0]) != name ||
        cells[2] != std::to_string(data.size())) {
        return fail(Kind::upload, "the page does not list " + name, stored);
    }
    auto back = exchange("GET", "/cgi-bin/download?file=" + testing::encode_query(name));
    if (!back) return fail(Kind::upload, "GET download of " + name + ": no answer", back);
    if (!expect(Kind::upload, back, 200)) return false;
    if (testing::sha256_hex(back->body) != digest) {
        return fail(Kind::upload, name + " came back different", back);
    }
    tally_.uploaded_bytes += data.size();
    return true;
}

// Posts a message and reads the room from just before it: the message must be there.
bool Client::chat() {
    std::string text = token();
    Headers json{{"Accept", "application/json"}};
    Headers post_headers = json;
    post_headers.emplace_back("Content-Type", kFormType);
    auto posted = exchange("POST", "/cgi-bin/chat", post_headers,
                           "nick=soak" + std::to_string(id_) + "&message=" + text);
    if (!expect(Kind::chat, posted, 200, {"{\"ok\":true,\"id\":"})) return false;
    uint64_t id = std::strtoull(posted->body.c_str() + posted->body.find(':', 6) + 1, nullptr, 10);
    if (id == 0) return fail(Kind::chat, "no id in the answer", posted);
    return expect(Kind::chat,
                  exchange("GET", "/cgi-bin/chat?since=" + std::to_string(id - 1), json), 200,
                  {"{\"id\":" + std::to_string(id) + ",", "\"text\":\"" + text + "\""});
}

// ---- The scriptable test CGI ---------------------------------------------------------------

bool Client::cgi_post_body() {
    std::string body(random_below(kPostBodyMax + 1), '\0');
    for (char& byte : body)
        byte = static_cast<char>(next_random() >> 40);
    return expect(
        Kind::cgi_post_body,
        exchange("POST", "/cgi-bin/t?body-sha256", {{"Content-Type", "application/octet-stream"}},
                 body),
        200,
        {"length=" + std::to_string(body.size()) + "\n", "sha256=" + testing::sha256_hex(body)});
}

bool Client::cgi_bytes() {
    size_t size = 1 + random_below(kCgiBytesMax);
    auto response = exchange("GET", "/cgi-bin/t?bytes=" + std::to_string(size));
    if (!expect(Kind::cgi_bytes, response, 200)) return false;
    const std::string& body = response->body;
    if (body.size() != size) return fail(Kind::cgi_bytes, "wrong length", response);
    for (size_t i = 0; i < size; ++i) {
        if (body[i] != kPattern[i % kPattern.size()]) {
            return fail(Kind::cgi_bytes, "byte " + std::to_string(i) + " differs", response);
        }
    }
    return true;
}

bool Client::cgi_crash() {
    static constexpr const char* kFaults[] = {"crash", "abort", "exit=3", "no-output"};
    return expect(Kind::cgi_crash,
                  exchange("GET", std::string("/cgi-bin/t?") + kFaults[random_below(4)]), 502);
}

bool Client::cgi_timeout() {
    // Silent far longer than the server allows: only the server's timeout ends it.
    std::string seconds = std::to_string(static_cast<int>(site_.cgi_timeout * 2) + 5);
    return expect(Kind::cgi_timeout, exchange("GET", "/cgi-bin/t?sleep=" + seconds), 504);
}

bool Client::client_gone() {
    // A connection of its own: the kept one stays usable. The server must stop the script.
    testing::HttpConnection leaving(site_.port);
    ++tally_.connections;
    ++tally_.requests[index_of(Kind::client_gone)];
    ++requests_this_operation_;
    leaving.send_raw("GET /cgi-bin/t?sleep=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(10 + random_below(200)));
    return true;
}

}  // namespace cgihost::soak
