// libFuzzer target: the whole request path in-process. A real Worker (evhttp, validation,
// target resolution, static files, CGI) serves a temporary tree on a Unix socket; each input is
// written by a client as raw bytes, the client half-closes, and the loop runs until the server
// has answered and closed the connection.
// Properties: no crash, no leak (libFuzzer's leak check after each input), the server always
// closes the connection, and every byte it sends is a sequence of well-formed HTTP/1.x
// responses (status line, header fields without stray CR/LF, body framed by Content-Length,
// chunked coding or the close).
#include <event2/event.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_tree.hpp"
#include "server/server_context.hpp"
#include "server/worker.hpp"
#include "util/event_ptr.hpp"

namespace {

using cgihost::UniqueFd;

// A request must be answered and its connection closed within this time; longer is a hang. A
// hang guard, not a speed bound: two fuzzers run side by side under ASan on two shared cores,
// and an input may run a script (cgi_timeout 2 s, then the kill grace) on a slow machine.
constexpr double kAnswerSeconds = 60;
constexpr int kBacklog = 16;

// ---- The reply check: a small strict parser of HTTP/1.x responses (RFC 9112) ----

bool is_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Reads one CRLF-terminated line without bare CR or LF; nullopt if there is none.
std::optional<std::string_view> take_line(std::string_view& in) {
    size_t end = in.find("\r\n");
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view line = in.substr(0, end);
    if (line.find_first_of("\r\n") != std::string_view::npos) return std::nullopt;
    in.remove_prefix(end + 2);
    return line;
}

std::optional<uint64_t> parse_number(std::string_view text, int base) {
    if (text.empty() || text.size() > 15) return std::nullopt;
    uint64_t value = 0;
    for (char c : text) {
        int digit = std::isdigit(static_cast<unsigned char>(c)) != 0 ? c - '0'
                    : base == 16 && std::isxdigit(static_cast<unsigned char>(c)) != 0
                        ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                        : -1;
        if (digit < 0) return std::nullopt;
        value = value * static_cast<uint64_t>(base) + static_cast<uint64_t>(digit);
    }
    return value;
}

struct Head {
    std::string_view version;  // "1.1"
    int status = 0;
    std::optional<uint64_t> content_length;
    bool chunked = false;
    bool from_cgihost = false;  // carries our Server field, so it did not come from evhttp alone
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool is_digits(std::string_view text) {
    return !text.empty() && std::ranges::all_of(text, [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
}

// evhttp reads the version with "%d.%d", so its own refusals may even say "HTTP/1.-1".
bool is_number(std::string_view text) {
    if (text.starts_with('-')) text.remove_prefix(1);
    return is_digits(text);
}

// status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ] (RFC 9112 §4). The version is
// checked loosely here (digits "." digits) and strictly in take_head.
bool take_status_line(std::string_view& in, Head& head) {
    auto line = take_line(in);
    if (!line || line->substr(0, 5) != "HTTP/") return false;
    size_t space = line->find(' ');
    if (space == std::string_view::npos || line->size() < space + 5 || (*line)[space + 4] != ' ') {
        return false;
    }
    head.version = line->substr(5, space - 5);
    size_t dot = head.version.find('.');
    if (dot == std::string_view::npos || !is_number(head.version.substr(0, dot)) ||
        !is_number(head.version.substr(dot + 1))) {
        return false;
    }
    auto code = parse_number(line->substr(space + 1, 3), 10);
    if (!code || *code < 100 || *code > 599) return false;
    head.status = static_cast<int>(*code);
    return true;
}

// One "name: value" line: a token, a colon, a value without NUL (CR and LF cannot be left).
bool take_field(std::string_view line, Head& head) {
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return false;
    std::string_view name = line.substr(0, colon);
    for (char c : name) {
        if (!is_token_char(c)) return false;
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ')
        value.remove_prefix(1);
    if (value.find('\0') != std::string_view::npos) return false;
    if (equals_ignoring_case(name, "Content-Length")) {
        auto length = parse_number(value, 10);
        if (!length || (head.content_length && *head.content_length != *length)) return false;
        head.content_length = length;
    } else if (equals_ignoring_case(name, "Transfer-Encoding")) {
        if (value != "chunked") return false;
        head.chunked = true;
    } else if (equals_ignoring_case(name, "Server")) {
        head.from_cgihost = value.substr(0, 8) == "cgihost/";
    }
    return true;
}

// Status line and header fields; false if anything is malformed. Our own replies speak
// HTTP/1.0 or 1.1 (RFC 9112 §2.3). evhttp's own refusals (501 for an unknown method, 400 for
// an unparsable head), which no hook of libevent 2.1 lets us reach, echo the client's version.
bool take_head(std::string_view& in, Head& head) {
    if (!take_status_line(in, head)) return false;
    for (;;) {
        auto line = take_line(in);
        if (!line) return false;
        if (line->empty()) break;
        if (!take_field(*line, head)) return false;
    }
    return !head.from_cgihost || head.version == "1.0" || head.version == "1.1";
}

bool take_chunked_body(std::string_view& in) {
    for (;;) {
        auto size_line = take_line(in);
        if (!size_line) return false;
        auto size = parse_number(size_line->substr(0, size_line->find(';')), 16);
        if (!size) return false;
        if (*size == 0) return take_line(in).has_value();  // no trailers from us
        if (in.size() < *size + 2 || in.substr(*size, 2) != "\r\n") return false;
        in.remove_prefix(*size + 2);
    }
}

bool starts_next_response(std::string_view in) {
    return in.empty() || in.substr(0, 5) == "HTTP/";
}

// Every byte must belong to a response. A body announced by Content-Length is absent after HEAD,
// which we cannot tell from here, so either reading must lead to the next response or the end.
bool is_well_formed_reply(std::string_view in) {
    while (!in.empty()) {
        Head head;
        if (!take_head(in, head)) return false;
        if (head.status < 200 || head.status == 204 || head.status == 304) continue;
        if (head.chunked) {
            if (head.content_length || !take_chunked_body(in)) return false;
        } else if (head.content_length) {
            uint64_t length = *head.content_length;
            if (in.size() >= length && starts_next_response(in.substr(length))) {
                in.remove_prefix(length);
            } else if (!starts_next_response(in)) {
                return false;
            }
        } else {
            return true;  // the body runs until the close
        }
    }
    return true;
}

// ---- The server under test ----

cgihost::ResolverConfig make_resolver(const cgihost::Config& config) {
    cgihost::ResolverConfig resolver;
    resolver.docroot = config.docroot;
    resolver.cgi_dir = config.cgi_dir;
    resolver.cgi_url_prefix = "/cgi-bin";
    resolver.index_files = config.index_files;
    resolver.cgi_extension_handlers[".sh"] = "/bin/sh";
    return resolver;
}

cgihost::Config make_config(const cgihost::fuzz::FuzzTree& tree) {
    cgihost::Config config;
    config.docroot = tree.docroot();
    config.cgi_dir = tree.cgi_dir();
    config.directory_listing = true;
    config.max_header_size = 2048;  // small, so the fuzzer reaches 414/431 with short inputs
    config.max_uri_size = 512;
    config.max_body_size = 1024;
    config.body_spool_threshold = 256;  // so that the fuzzer reaches the spooling path too
    config.body_spool_dir = "/tmp";
    config.cgi_timeout = 2;
    config.cgi_max_time = 4;
    config.cgi_kill_grace = 0.5;
    config.threads = 1;
    return config;
}

// What main builds with build_site, minus the files it reads: the built-in MIME types, no
// access rules, and the fuzz tree's resolver (with its .sh handler).
std::shared_ptr<const cgihost::Site> make_site(const cgihost::Config& config) {
    auto site = std::make_shared<cgihost::Site>();
    site->config = config;
    site->mime_types = cgihost::MimeTypes::with_builtin_defaults();
    site->resolver = make_resolver(config);
    site->limits = {config.max_uri_size, config.max_header_size};
    site->static_options = {config.directory_listing};
    site->cgi = cgihost::make_cgi_settings(config);
    site->intake = cgihost::make_intake_settings(config);
    return site;
}

class InProcessServer {
  public:
    InProcessServer()
        : config_(make_config(tree_)),
          logger_("", cgihost::LogLevel::error, ""),
          context_{.config = config_,
                   .logger = logger_,
                   .sites = cgihost::SiteStore(make_site(config_)),
                   .body_budget = cgihost::BodyMemoryBudget(config_.max_body_memory)},
          worker_(context_) {
        // As in main: a client that leaves must not kill the server with SIGPIPE.
        (void)std::signal(SIGPIPE, SIG_IGN);
        if (!logger_.open().empty()) std::abort();
        std::vector<cgihost::ListeningSocket> listeners;
        listeners.push_back({listen_on_unix_socket(), false});
        if (!worker_.init(std::move(listeners)).empty()) std::abort();
    }

    // Sends `request` on a new connection, half-closes, and returns everything the server
    // wrote until it closed the connection.
    std::string exchange(std::string_view request) {
        UniqueFd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!client || ::connect(client.get(), address(), sizeof address_) != 0) std::abort();
        if (::write(client.get(), request.data(), request.size()) !=
            static_cast<ssize_t>(request.size())) {
            std::abort();
        }
        ::shutdown(client.get(), SHUT_WR);
        Exchange state{this, client.get(), {}, false};
        event_base* base = worker_.event_loop();
        cgihost::EventPtr reader(
            event_new(base, client.get(), EV_READ | EV_PERSIST, &on_client_readable, &state));
        cgihost::EventPtr deadline(event_new(base, -1, 0, &on_deadline, &state));
        timeval limit = {static_cast<time_t>(kAnswerSeconds), 0};
        event_add(reader.get(), nullptr);
        event_add(deadline.get(), &limit);
        event_base_loop(base, 0);
        if (!state.closed) {
            (void)std::fprintf(stderr, "the server did not close the connection in %g s\n",
                               kAnswerSeconds);
            std::abort();
        }
        return state.reply;
    }

  private:
    struct Exchange {
        InProcessServer* server;
        int fd;
        std::string reply;
        bool closed;
    };

    static void on_client_readable(evutil_socket_t fd, short, void* arg) {
        auto* state = static_cast<Exchange*>(arg);
        char buffer[16384];
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n > 0) {
            state->reply.append(buffer, static_cast<size_t>(n));
            return;
        }
        state->closed = true;  // EOF, or a reset: either way the server let go
        event_base_loopbreak(state->server->worker_.event_loop());
    }

    static void on_deadline(evutil_socket_t, short, void* arg) {
        event_base_loopbreak(static_cast<Exchange*>(arg)->server->worker_.event_loop());
    }

    UniqueFd listen_on_unix_socket() {
        address_.sun_family = AF_UNIX;
        std::string path = tree_.docroot() + "/../server.sock";
        if (path.size() >= sizeof address_.sun_path) std::abort();
        std::memcpy(address_.sun_path, path.c_str(), path.size() + 1);
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd || ::bind(fd.get(), address(), sizeof address_) != 0 ||
            ::listen(fd.get(), kBacklog) != 0) {
            std::abort();
        }
        return fd;
    }

    const sockaddr* address() const { return reinterpret_cast<const sockaddr*>(&address_); }

    cgihost::fuzz::FuzzTree tree_;
    cgihost::Config config_;
    cgihost::Logger logger_;
    cgihost::ServerContext context_;
    cgihost::Worker worker_;
    sockaddr_un address_{};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
    static InProcessServer server;
    std::string reply = server.exchange({reinterpret_cast<const char*>(bytes), size});
    if (!is_well_formed_reply(reply)) {
        (void)std::fprintf(stderr, "malformed reply:\n%s\n", reply.c_str());
        std::abort();
    }
    return 0;
}
