#include "chat_client/chat_session.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "chat_client/chat_answers.hpp"
#include "chat_client/form_encoding.hpp"
#include "chat_client/input_lines.hpp"
#include "chat_client/terminal_text.hpp"
#include "util/event_ptr.hpp"

namespace cgihost::chat_client {
namespace {

constexpr size_t kMaxAnswerBytes = size_t{4} * 1024 * 1024;  // the chat sends at most 1 MiB of room
constexpr size_t kMaxLineBytes = 8000;   // the chat takes 2000 characters of up to 4 bytes
constexpr size_t kMaxQueuedLines = 32;   // beyond it stdin is left unread until posts catch up
constexpr size_t kHistoryMessages = 20;  // shown on joining without --since
constexpr size_t kMaxRememberedIds = 1024;
constexpr int kPollTimeoutSeconds = 330;  // longer than any chat wait (it caps them at 300 s)
constexpr int kPostTimeoutSeconds = 30;
constexpr int kFirstRetrySeconds = 1;
constexpr int kMaxRetrySeconds = 30;
// An answer with nothing new (a server that does not long-poll, a room that was reset) waits
// this long before the next poll, so no server can make us spin.
constexpr int kQuietAnswerPauseSeconds = 1;

struct UriDeleter {
    void operator()(evhttp_uri* uri) const { evhttp_uri_free(uri); }
};
struct SslCtxDeleter {
    void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

void say(const std::string& message) {
    std::cerr << "chat-client: " << message << std::endl;
}

std::string openssl_error() {
    unsigned long code = ERR_get_error();
    if (code == 0) return "unknown TLS error";
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    return text;
}

// Where the chat is, from --server.
struct ServerAddress {
    std::string url;
    bool tls = false;
    std::string host;         // to connect to: a name or an address, IPv6 without brackets
    std::string host_header;  // as in the URL, with a port that is not the default
    int port = 0;
    std::string target;  // path, and the URL's own query if any

    std::string poll_target(uint64_t since) const {
        bool has_query = target.find('?') != std::string::npos;
        return target + (has_query ? "&" : "?") + "since=" + std::to_string(since);
    }
};

std::optional<ServerAddress> parse_server_url(const std::string& url, std::string& error) {
    std::unique_ptr<evhttp_uri, UriDeleter> uri(evhttp_uri_parse(url.c_str()));
    const char* scheme = uri ? evhttp_uri_get_scheme(uri.get()) : nullptr;
    const char* host = uri ? evhttp_uri_get_host(uri.get()) : nullptr;
    if (scheme == nullptr || host == nullptr || *host == '\0') {
        error = "--server " + url + ": not a URL like http://HOST[:PORT]/cgi-bin/chat";
        return std::nullopt;
    }
    ServerAddress server;
    server.url = url;
    server.tls = evutil_ascii_strcasecmp(scheme, "https") == 0;
    if (!server.tls && evutil_ascii_strcasecmp(scheme, "http") != 0) {
        error = "--server " + url + ": only http:// and https:// URLs are supported";
        return std::nullopt;
    }
    if (evhttp_uri_get_userinfo(uri.get()) != nullptr) {
        error = "--server " + url + ": user names in the URL are not supported";
        return std::nullopt;
    }
    server.host = host;
    server.host_header = host;
    if (server.host.starts_with('[')) server.host = server.host.substr(1, server.host.size() - 2);
    int port = evhttp_uri_get_port(uri.get());
    server.port = port > 0 ? port : server.tls ? 443 : 80;
    if (port > 0) server.host_header += ":" + std::to_string(port);
    const char* path = evhttp_uri_get_path(uri.get());
    server.target = path != nullptr && *path != '\0' ? path : "/";
    if (const char* query = evhttp_uri_get_query(uri.get()))
        server.target += "?" + std::string(query);
    return server;
}

// A client context that checks the server's certificate chain against `cacert` or the
// system's CAs; the name is checked per connection (connect_tls).
SslCtxPtr make_tls_context(const std::string& cacert, std::string& error) {
    SslCtxPtr context(SSL_CTX_new(TLS_client_method()));
    if (!context || SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION) != 1) {
        error = "cannot set up TLS: " + openssl_error();
        return nullptr;
    }
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
    int loaded = cacert.empty()
                     ? SSL_CTX_set_default_verify_paths(context.get())
                     : SSL_CTX_load_verify_locations(context.get(), cacert.c_str(), nullptr);
    if (loaded != 1) {
        error = "cannot load CA certificates" + (cacert.empty() ? "" : " from " + cacert) + ": " +
                openssl_error();
        return nullptr;
    }
    return context;
}

// HH:MM of `time` in the local time zone.
std::string clock_of(int64_t time) {
    auto seconds = static_cast<std::time_t>(time);
    std::tm local{};
    char text[8];
    if (::localtime_r(&seconds, &local) == nullptr ||
        std::strftime(text, sizeof text, "%H:%M", &local) == 0) {
        return "--:--";
    }
    return text;
}

// The answer's body (at most kMaxAnswerBytes: the connection refuses more).
std::string body_of(evhttp_request* request) {
    evbuffer* body = evhttp_request_get_input_buffer(request);
    std::string bytes(evbuffer_get_length(body), '\0');
    evbuffer_copyout(body, bytes.data(), bytes.size());
    return bytes;
}

std::string describe(evhttp_request_error error) {
    switch (error) {
        case EVREQ_HTTP_TIMEOUT:
            return "no answer in time";
        case EVREQ_HTTP_EOF:
            return "the connection was closed";
        case EVREQ_HTTP_INVALID_HEADER:
            return "the answer's head is malformed";
        case EVREQ_HTTP_BUFFER_ERROR:
            return "the connection failed";
        case EVREQ_HTTP_REQUEST_CANCEL:
            return "the request was cancelled";
        case EVREQ_HTTP_DATA_TOO_LONG:
            return "the answer is too large";
    }
    return "the request failed";
}

// One chat session: see chat_session.hpp.
class ChatSession {
  public:
    ChatSession(ServerAddress server, const ClientOptions& options, SslCtxPtr tls);
    int run();

  private:
    enum class Purpose { poll, post };
    // One request in flight, on a connection of its own (we always ask for Connection: close).
    // send() returns nullptr when it cannot even start.
    struct Exchange {
        ChatSession* session = nullptr;
        Purpose purpose = Purpose::poll;
        evhttp_connection* connection = nullptr;
        std::string failure;  // why it failed, from the error callback
    };

    static void on_done(evhttp_request* request, void* arg);
    static void on_error(evhttp_request_error error, void* arg);
    static void on_poll_timer(evutil_socket_t, short, void* arg);
    static void on_stdin(evutil_socket_t, short, void* arg);
    static void on_reap(evutil_socket_t, short, void* arg);

    evhttp_connection* connect();
    std::string connect_error_;  // why the last connect() gave nullptr
    std::string connection_failure() const {
        return connect_error_.empty() ? "cannot open a connection" : connect_error_;
    }
    std::unique_ptr<Exchange> send(Purpose purpose, evhttp_cmd_type method,
                                   const std::string& target, const std::string& body);
    std::string failure_of(const Exchange& exchange, evhttp_request* request) const;
    void retire(evhttp_connection* connection);
    void free_connections();

    void start_poll();
    void finish_poll(evhttp_request* request);
    void poll_failed(const std::string& why);
    void schedule_poll(int seconds);
    void show(std::vector<ChatMessage> messages);
    void print_held();

    void read_stdin();
    void start_next_post();
    void finish_post(evhttp_request* request);
    void stop_when_done();
    void print(const std::string& text);

    ServerAddress server_;
    std::string nick_;
    SslCtxPtr tls_;
    EventBasePtr base_;
    EventPtr poll_timer_;
    EventPtr stdin_event_;
    EventPtr reaper_;
    // Connections whose request is done. A connection may not be freed inside its own
    // callback, and libevent's free-on-completion misses failed connects, so they are freed
    // from the next turn of the loop.
    std::vector<evhttp_connection*> retired_;
    std::unique_ptr<Exchange> poll_;  // set while a poll is in flight
    std::unique_ptr<Exchange> post_;  // set while a post is in flight

    uint64_t since_ = 0;
    bool first_answer_ = true;
    bool show_all_of_first_ = false;  // --since given: everything after it, not just the tail
    int retry_seconds_ = kFirstRetrySeconds;
    bool failing_ = false;

    InputLines input_{kMaxLineBytes};
    bool stdin_open_ = true;
    std::deque<std::string> outbox_;
    std::set<uint64_t> own_ids_;     // ids of our own posts, not printed again
    std::vector<ChatMessage> held_;  // arrived while a post was in flight
    int exit_status_ = 0;
};

ChatSession::ChatSession(ServerAddress server, const ClientOptions& options, SslCtxPtr tls)
    : server_(std::move(server)), nick_(options.nick), tls_(std::move(tls)) {
    since_ = options.since.value_or(0);
    show_all_of_first_ = options.since.has_value();
    // poll(2), not epoll: stdin may be a regular file or /dev/null, which epoll refuses.
    std::unique_ptr<event_config, decltype(&event_config_free)> config(event_config_new(),
                                                                       event_config_free);
    event_config_avoid_method(config.get(), "epoll");
    base_.reset(event_base_new_with_config(config.get()));
    if (!base_) throw std::runtime_error("cannot create an event loop");
    poll_timer_.reset(evtimer_new(base_.get(), on_poll_timer, this));
    stdin_event_.reset(event_new(base_.get(), STDIN_FILENO, EV_READ | EV_PERSIST, on_stdin, this));
    reaper_.reset(evtimer_new(base_.get(), on_reap, this));
}

int ChatSession::run() {
    say("talking as " + sanitize_for_terminal(nick_, false) + " at " + server_.url +
        "; end of input (Ctrl-D) leaves");
    event_add(stdin_event_.get(), nullptr);
    start_poll();
    event_base_dispatch(base_.get());
    // A poll still waiting on the server: freeing its connection drops it without a callback.
    if (poll_) retire(poll_->connection);
    if (post_) retire(post_->connection);
    free_connections();
    return exit_status_;
}

void ChatSession::retire(evhttp_connection* connection) {
    retired_.push_back(connection);
    timeval now{0, 0};
    evtimer_add(reaper_.get(), &now);
}

void ChatSession::on_reap(evutil_socket_t, short, void* arg) {
    static_cast<ChatSession*>(arg)->free_connections();
}

void ChatSession::free_connections() {
    for (evhttp_connection* connection : retired_)
        evhttp_connection_free(connection);
    retired_.clear();
}

// The server's address as numbers. libevent would look a name up itself, but without a DNS
// base it does so inside evhttp_make_request and reports a failure before that call returns,
// which no caller expects; looking it up here first keeps every failure asynchronous.
std::optional<std::string> numeric_address_of(const std::string& host, int port,
                                              std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int status = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
    if (status != 0 || found == nullptr) {
        error = "cannot find the address of " + host + ": " + ::gai_strerror(status);
        return std::nullopt;
    }
    char numeric[NI_MAXHOST];
    status = ::getnameinfo(found->ai_addr, found->ai_addrlen, numeric, sizeof numeric, nullptr, 0,
                           NI_NUMERICHOST);
    ::freeaddrinfo(found);
    if (status != 0) {
        error = "cannot use the address of " + host + ": " + ::gai_strerror(status);
        return std::nullopt;
    }
    return std::string(numeric);
}

evhttp_connection* ChatSession::connect() {
    connect_error_.clear();
    std::optional<std::string> address =
        numeric_address_of(server_.host, server_.port, connect_error_);
    if (!address) return nullptr;
    if (!server_.tls) {
        return evhttp_connection_base_new(base_.get(), nullptr, address->c_str(),
                                          static_cast<uint16_t>(server_.port));
    }
    SSL* ssl = SSL_new(tls_.get());
    if (ssl == nullptr) return nullptr;
    // RFC 6125: the certificate must name the host we asked for, or for an address carry it
    // as an IP SAN. Only names go into SNI (RFC 6066 §3 leaves addresses out).
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, server_.host.c_str()) != 1) {
        SSL_set_tlsext_host_name(ssl, server_.host.c_str());
        X509_VERIFY_PARAM_set1_host(param, server_.host.c_str(), 0);
    }
    bufferevent* tls = bufferevent_openssl_socket_new(
        base_.get(), -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    if (tls == nullptr) {
        SSL_free(ssl);
        return nullptr;
    }
    // The answer's end is known from its framing; a missing close_notify is no error here.
    bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
    evhttp_connection* connection = evhttp_connection_base_bufferevent_new(
        base_.get(), nullptr, tls, address->c_str(), static_cast<uint16_t>(server_.port));
    if (connection == nullptr) bufferevent_free(tls);  // and with it the SSL (CLOSE_ON_FREE)
    return connection;
}

std::unique_ptr<ChatSession::Exchange> ChatSession::send(Purpose purpose, evhttp_cmd_type method,
                                                         const std::string& target,
                                                         const std::string& body) {
    auto exchange = std::make_unique<Exchange>();
    exchange->session = this;
    exchange->purpose = purpose;
    exchange->connection = connect();
    if (exchange->connection == nullptr) return nullptr;
    evhttp_connection_set_timeout(
        exchange->connection, purpose == Purpose::poll ? kPollTimeoutSeconds : kPostTimeoutSeconds);
    evhttp_connection_set_max_body_size(exchange->connection, kMaxAnswerBytes);
    evhttp_request* request = evhttp_request_new(on_done, exchange.get());
    if (request == nullptr) {
        evhttp_connection_free(exchange->connection);
        return nullptr;
    }
    evhttp_request_set_error_cb(request, on_error);
    evkeyvalq* headers = evhttp_request_get_output_headers(request);
    evhttp_add_header(headers, "Host", server_.host_header.c_str());
    evhttp_add_header(headers, "Accept", "application/json");
    evhttp_add_header(headers, "Connection", "close");
    evhttp_add_header(headers, "User-Agent", "cgihost-chat-client");
    if (method == EVHTTP_REQ_POST) {
        evhttp_add_header(headers, "Content-Type", "application/x-www-form-urlencoded");
        evhttp_add_header(headers, "Content-Length", std::to_string(body.size()).c_str());
        evbuffer_add(evhttp_request_get_output_buffer(request), body.data(), body.size());
    }
    if (evhttp_make_request(exchange->connection, request, method, target.c_str()) != 0) {
        // evhttp_make_request has freed the request; the connection is still ours.
        evhttp_connection_free(exchange->connection);
        return nullptr;
    }
    return exchange;
}

void ChatSession::on_error(evhttp_request_error error, void* arg) {
    auto* exchange = static_cast<Exchange*>(arg);
    exchange->failure = describe(error);
    if (exchange->session->server_.tls) {
        bufferevent* tls = evhttp_connection_get_bufferevent(exchange->connection);
        if (unsigned long code = tls ? bufferevent_get_openssl_error(tls) : 0) {
            char text[256];
            ERR_error_string_n(code, text, sizeof text);
            exchange->failure += std::string(" (TLS: ") + text + ")";
        }
    }
}

void ChatSession::on_done(evhttp_request* request, void* arg) {
    auto* exchange = static_cast<Exchange*>(arg);
    ChatSession* session = exchange->session;
    if (exchange->purpose == Purpose::poll) {
        session->finish_poll(request);
    } else {
        session->finish_post(request);
    }
}

// Why an exchange did not get a 200, in words for stderr; "" when it did.
std::string ChatSession::failure_of(const Exchange& exchange, evhttp_request* request) const {
    int status = request != nullptr ? evhttp_request_get_response_code(request) : 0;
    if (status == 0) {
        // A failed connect (refused, unreachable) comes without an error callback.
        std::string why =
            exchange.failure.empty() ? "no connection could be made" : exchange.failure;
        return "cannot reach " + server_.url + ": " + why;
    }
    if (status == HTTP_OK) return {};
    const char* reason = evhttp_request_get_response_code_line(request);
    std::string text = "the server answered " + std::to_string(status) + " " +
                       sanitize_for_terminal(reason != nullptr ? reason : "", false);
    if (auto error = decode_error_answer(body_of(request)))
        text += ": " + sanitize_for_terminal(*error, false);
    return text;
}

// ---- Reading the room -----------------------------------------------------------------------

void ChatSession::start_poll() {
    poll_ = send(Purpose::poll, EVHTTP_REQ_GET, server_.poll_target(since_), {});
    if (!poll_) poll_failed("cannot reach " + server_.url + ": " + connection_failure());
}

void ChatSession::on_poll_timer(evutil_socket_t, short, void* arg) {
    static_cast<ChatSession*>(arg)->start_poll();
}

void ChatSession::schedule_poll(int seconds) {
    timeval delay{seconds, 0};
    evtimer_add(poll_timer_.get(), &delay);
}

void ChatSession::poll_failed(const std::string& why) {
    say(why + "; trying again in " + std::to_string(retry_seconds_) + " s");
    failing_ = true;
    schedule_poll(retry_seconds_);
    retry_seconds_ = std::min(retry_seconds_ * 2, kMaxRetrySeconds);
}

void ChatSession::finish_poll(evhttp_request* request) {
    std::unique_ptr<Exchange> exchange = std::move(poll_);
    retire(exchange->connection);
    if (std::string failure = failure_of(*exchange, request); !failure.empty()) {
        return poll_failed(failure);
    }
    Decoded<PollAnswer> answer = decode_poll_answer(body_of(request));
    if (!answer.value) return poll_failed("the server's answer is not the chat's: " + answer.error);
    if (failing_) say("connected to " + server_.url);
    failing_ = false;
    retry_seconds_ = kFirstRetrySeconds;

    std::vector<ChatMessage> fresh;
    for (ChatMessage& message : answer.value->messages) {
        if (message.id > since_) fresh.push_back(std::move(message));
    }
    if (first_answer_ && !show_all_of_first_ && fresh.size() > kHistoryMessages) {
        fresh.erase(fresh.begin(), fresh.end() - kHistoryMessages);
    }
    first_answer_ = false;
    bool quiet = fresh.empty();
    if (quiet) {
        // Nothing new: wait from the room's newest id. One below ours means the room was
        // emptied and its numbers start again (the chat answers at once then).
        uint64_t last_id = answer.value->last_id;
        if (last_id < since_) say("the room was emptied; message numbers start again");
        since_ = last_id;
    } else {
        for (const ChatMessage& message : fresh)
            since_ = std::max(since_, message.id);
    }
    show(std::move(fresh));
    if (quiet) return schedule_poll(kQuietAnswerPauseSeconds);
    start_poll();
}

// Our own posts come back in the room too: they are not printed a second time. Their ids are
// known only once the post is answered, so what arrives meanwhile waits for that answer.
void ChatSession::show(std::vector<ChatMessage> messages) {
    held_.insert(held_.end(), std::make_move_iterator(messages.begin()),
                 std::make_move_iterator(messages.end()));
    if (!post_) print_held();
}

void ChatSession::print_held() {
    std::string text;
    for (const ChatMessage& message : held_) {
        if (own_ids_.erase(message.id) == 0)
            text += format_message_line(message, clock_of(message.time));
    }
    held_.clear();
    if (!text.empty()) print(text);
}

void ChatSession::print(const std::string& text) {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
        std::fflush(stdout) != 0) {
        say(std::string("cannot write to stdout: ") + std::strerror(errno));
        exit_status_ = 1;
        event_base_loopbreak(base_.get());
    }
}

// ---- Posting the user's lines ---------------------------------------------------------------

void ChatSession::on_stdin(evutil_socket_t, short, void* arg) {
    static_cast<ChatSession*>(arg)->read_stdin();
}

// One read(2) per readiness, so it never blocks (fd 0 stays in blocking mode: it may be the
// terminal of the shell we were started from).
void ChatSession::read_stdin() {
    char buffer[4096];
    ssize_t got = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (got < 0) say(std::string("cannot read stdin: ") + std::strerror(errno));
    if (got <= 0) {
        stdin_open_ = false;
        event_del(stdin_event_.get());
    } else {
        input_.append(std::string_view(buffer, static_cast<size_t>(got)));
    }
    while (auto line = input_.next(!stdin_open_)) {
        if (line->too_long) {
            say("a line longer than " + std::to_string(kMaxLineBytes) + " bytes was not sent");
            continue;
        }
        size_t first = line->text.find_first_not_of(" \t");
        if (first != std::string::npos) outbox_.push_back(std::move(line->text));
    }
    if (outbox_.size() >= kMaxQueuedLines) event_del(stdin_event_.get());
    start_next_post();
    stop_when_done();
}

// Posts go one at a time, so the room gets the lines in the order they were typed.
void ChatSession::start_next_post() {
    if (post_ || outbox_.empty()) return;
    std::string body = encode_form({{"nick", nick_}, {"message", outbox_.front()}});
    outbox_.pop_front();
    if (stdin_open_ && outbox_.size() < kMaxQueuedLines) event_add(stdin_event_.get(), nullptr);
    post_ = send(Purpose::post, EVHTTP_REQ_POST, server_.target, body);
    if (!post_) {
        say("a line was not sent: cannot reach " + server_.url + ": " + connection_failure());
        start_next_post();
    }
}

// A post is not retried: the server may have stored it before the connection broke.
void ChatSession::finish_post(evhttp_request* request) {
    std::unique_ptr<Exchange> exchange = std::move(post_);
    retire(exchange->connection);
    std::string failure = failure_of(*exchange, request);
    if (failure.empty()) {
        Decoded<uint64_t> id = decode_post_answer(body_of(request));
        if (id.value) {
            own_ids_.insert(*id.value);
            if (own_ids_.size() > kMaxRememberedIds) own_ids_.erase(own_ids_.begin());
        } else {
            failure = "the server's answer to a post is not the chat's: " + id.error;
        }
    }
    if (!failure.empty()) say("a line was not sent: " + failure);
    print_held();
    start_next_post();
    stop_when_done();
}

void ChatSession::stop_when_done() {
    if (!stdin_open_ && !post_ && outbox_.empty()) event_base_loopexit(base_.get(), nullptr);
}

}  // namespace

int run_chat_session(const ClientOptions& options) {
    std::string error;
    std::optional<ServerAddress> server = parse_server_url(options.server_url, error);
    if (!server) {
        say(error);
        return 2;
    }
    SslCtxPtr tls;
    if (server->tls) {
        tls = make_tls_context(options.cacert, error);
        if (!tls) {
            say(error);
            return 1;
        }
    }
    try {
        ChatSession session(std::move(*server), options, std::move(tls));
        return session.run();
    } catch (const std::exception& failure) {
        say(failure.what());
        return 1;
    }
}

}  // namespace cgihost::chat_client
