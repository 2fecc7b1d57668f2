// The soak's request mix: what one client does next, and how each answer is checked.
//
// Every operation is one or two HTTP requests on the client's keep-alive connection against the
// sample site (www/ and cgi-bin/ with the scriptable test CGI installed as cgi-bin/t). Each
// answer is checked for its status and its content; an upload is read back and compared by
// SHA-256. Some operations fail on purpose (a script that crashes, one that stays silent past
// --cgi-timeout, a client that leaves while its script runs): their expected answer is checked
// like any other.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_client.hpp"

namespace cgihost::soak {

enum class Kind {
    static_file,     // GET a www/ file, body compared with the file
    static_range,    // GET bytes=a-b of a www/ file: 206 and the slice
    static_missing,  // GET a name that is not there: 404
    hello,           // GET cgi-bin/hello
    hello_get,       // GET cgi-bin/hello_get?first_name=&last_name=
    hello_post,      // POST the same form, urlencoded
    form,            // GET radio / checkbox / dropdown, POST textarea
    shell_script,    // GET hello.sh?name= and, more rarely, hello.py?name=
    environment,     // GET cgi-bin/env?probe=TOKEN: the token is in QUERY_STRING
    cookies,         // POST action=save (303 + two cookies), then GET with them
    redirect,        // ?to=client: 302 with Location; ?to=local: hello's page
    upload,          // POST multipart, then download it back: SHA-256 must match
    chat,            // POST a message (JSON), then GET since=id-1: it is there
    cgi_post_body,   // POST random bytes to t?body-sha256: length and digest echoed
    cgi_bytes,       // GET t?bytes=N: N bytes of the pattern
    cgi_crash,       // t?crash / t?abort / t?exit=3: 502
    cgi_timeout,     // t?sleep past --cgi-timeout: 504
    client_gone,     // t?sleep=30, and the client hangs up: no answer expected
};
inline constexpr size_t kKindCount = static_cast<size_t>(Kind::client_gone) + 1;

std::string_view kind_name(Kind kind);

// What all clients share: the server's port and the static files they compare against.
struct Site {
    uint16_t port = 0;
    std::vector<std::pair<std::string, std::string>> static_files;  // URL path → content
    double cgi_timeout = 0;  // the server's --cgi-timeout, so cgi_timeout knows how long to wait
};

// Per-kind tallies of one client, summed over all clients at the end.
struct Tally {
    std::array<uint64_t, kKindCount> requests{};  // HTTP requests sent, by kind
    std::array<uint64_t, kKindCount> errors{};    // operations whose answer was wrong
    uint64_t uploaded_bytes = 0;                  // bytes uploaded and read back identical
    uint64_t connections = 0;                     // connections opened
    std::vector<std::string> first_errors;        // a few messages, for the report

    void add(const Tally& other);
    uint64_t total_requests() const;
    uint64_t total_errors() const;
};

// One soak client: a keep-alive connection and a deterministic pseudo-random stream.
class Client {
  public:
    Client(const Site& site, uint64_t seed, int id);

    // Picks the next operation, runs it and checks every answer; returns the requests it sent.
    int run_one();
    const Tally& tally() const { return tally_; }

  private:
    uint64_t next_random();
    size_t random_below(size_t bound) { return static_cast<size_t>(next_random() % bound); }
    std::string token();  // a fresh [a-z0-9] word, unique to this client

    // Sends one request on the kept connection (reconnecting when needed) and reads the answer.
    std::optional<testing::HttpResponse> exchange(
        const std::string& method, const std::string& target,
        const std::vector<std::pair<std::string, std::string>>& headers = {},
        const std::string& body = {});
    // Records a wrong answer of `kind`; returns false so checks can `return fail(...)`.
    bool fail(Kind kind, const std::string& what,
              const std::optional<testing::HttpResponse>& response);
    // Checks status and that the body holds every fragment.
    bool expect(Kind kind, const std::optional<testing::HttpResponse>& response, int status,
                const std::vector<std::string>& fragments = {});

    bool static_file();
    bool static_range();
    bool static_missing();
    bool hello();
    bool hello_get();
    bool hello_post();
    bool form();
    bool shell_script();
    bool environment();
    bool cookies();
    bool redirect();
    bool upload();
    bool chat();
    bool cgi_post_body();
    bool cgi_bytes();
    bool cgi_crash();
    bool cgi_timeout();
    bool client_gone();

    const Site& site_;
    uint64_t state_;
    int id_;
    uint64_t serial_ = 0;
    Kind current_ = Kind::static_file;
    std::unique_ptr<testing::HttpConnection> connection_;
    int requests_this_operation_ = 0;
    double last_seconds_ = 0;  // how long the last exchange took
    // Where the last exchange went: a fresh connection, or one that had served requests and
    // then idled this long (a failure there may be the server's keep-alive close racing it).
    uint64_t exchanges_on_connection_ = 0;
    double idle_before_last_ = 0;
    std::chrono::steady_clock::time_point last_answer_at_{};
    Tally tally_;
};

}  // namespace cgihost::soak
