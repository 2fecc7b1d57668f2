// chat-client (clients/chat_client) against the real server running the chat sample: two
// clients see each other's lines, the nickname prompt, hostile nicks printed harmlessly, a
// server that is down, HTTPS with a private CA. Clients run as child processes with pipes on
// their stdin, stdout and stderr; every wait is for output to appear (a hang guard, never a
// timing assertion).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_certificates.hpp"
#include "test_server.hpp"

extern char** environ;

namespace cgihost::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kHangGuard = 60s;  // fails a test only when nothing arrives at all

std::string from_env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        throw std::runtime_error(std::string(name) + " is not set; run the tests with meson test");
    }
    return value;
}

// One chat-client process. Its stdout and stderr are collected while waiting for either.
class ChatClient {
  public:
    explicit ChatClient(const std::vector<std::string>& args) {
        int in[2], out[2], err[2];
        if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 ||
            ::pipe2(err, O_CLOEXEC) != 0) {
            throw std::runtime_error("pipe2 failed");
        }
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
        std::string binary = from_env("CGIHOST_CHAT_CLIENT");
        std::vector<char*> argv{binary.data()};
        std::vector<std::string> copies = args;
        for (std::string& arg : copies)
            argv.push_back(arg.data());
        argv.push_back(nullptr);
        int rc = ::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(in[0]);
        ::close(out[1]);
        ::close(err[1]);
        stdin_ = in[1];
        stdout_ = out[0];
        stderr_ = err[0];
        if (rc != 0) throw std::runtime_error("cannot start chat-client");
    }

    ~ChatClient() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        for (int fd : {stdin_, stdout_, stderr_}) {
            if (fd >= 0) ::close(fd);
        }
    }
    ChatClient(const ChatClient&) = delete;
    ChatClient& operator=(const ChatClient&) = delete;

    void type(const std::string& text) {
        ASSERT_EQ(::write(stdin_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    }

    void close_stdin() {
        ::close(stdin_);
        stdin_ = -1;
    }

    // Reads until `needle` is in stdout (or stderr), or the hang guard passes.
    bool wait_for_out(const std::string& needle) { return wait_for(out_, needle); }
    bool wait_for_err(const std::string& needle) { return wait_for(err_, needle); }

    // Reads both pipes to their end, then reaps: the exit status, or -1 when it had to be killed.
    int wait_exit() {
        auto deadline = Clock::now() + kHangGuard;
        while ((stdout_ >= 0 || stderr_ >= 0) && Clock::now() < deadline) {
            read_some(100ms);
        }
        if (stdout_ >= 0 || stderr_ >= 0) ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        expect_no_sanitizer_report();
        return WIFEXITED(status) && (stdout_ < 0 && stderr_ < 0) ? WEXITSTATUS(status) : -1;
    }

    const std::string& out() const { return out_; }
    const std::string& err() const { return err_; }

  private:
    // A leak or UB report at exit need not change the exit status: look for it too.
    void expect_no_sanitizer_report() const {
        EXPECT_EQ(err_.find("Sanitizer"), std::string::npos) << err_;
        EXPECT_EQ(err_.find("runtime error"), std::string::npos) << err_;
    }

    bool wait_for(const std::string& text, const std::string& needle) {
        auto deadline = Clock::now() + kHangGuard;
        while (text.find(needle) == std::string::npos) {
            if (Clock::now() >= deadline || (stdout_ < 0 && stderr_ < 0)) return false;
            read_some(200ms);
        }
        return true;
    }

    void read_some(std::chrono::milliseconds timeout) {
        pollfd fds[2] = {{stdout_, POLLIN, 0}, {stderr_, POLLIN, 0}};
        if (::poll(fds, 2, static_cast<int>(timeout.count())) <= 0) return;
        drain(fds[0], stdout_, out_);
        drain(fds[1], stderr_, err_);
    }

    static void drain(const pollfd& ready, int& fd, std::string& into) {
        if (fd < 0 || (ready.revents & (POLLIN | POLLHUP | POLLERR)) == 0) return;
        char buffer[4096];
        ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got > 0) {
            into.append(buffer, static_cast<size_t>(got));
        } else if (got == 0 || errno != EINTR) {
            ::close(fd);
            fd = -1;
        }
    }

    pid_t pid_ = -1;
    int stdin_ = -1;
    int stdout_ = -1;
    int stderr_ = -1;
    std::string out_;
    std::string err_;
};

class ChatClientTest : public ::testing::Test {
  protected:
    void SetUp() override {
        data_.let_anyone_write();  // the scripts' user writes the room there
    }

    // The server running the samples, with a short long-poll wait so polls turn over often.
    void start(const std::vector<std::string>& extra = {}) {
        std::vector<std::string> args{"--cgi-dir",     from_env("CGIHOST_SAMPLES_DIR"),
                                      "--docroot",     from_env("CGIHOST_WWW_DIR"),
                                      "--cgi-env-set", "CGIHOST_DATA_DIR=" + data_.path().string(),
                                      "--cgi-env-set", "CGIHOST_CHAT_WAIT=3"};
        args.insert(args.end(), extra.begin(), extra.end());
        server_ = std::make_unique<TestServer>(args);
    }

    std::string chat_url() const {
        return "http://127.0.0.1:" + std::to_string(server_->port()) + "/cgi-bin/chat";
    }

    std::unique_ptr<ChatClient> client(const std::string& nick,
                                       std::vector<std::string> extra = {}) const {
        std::vector<std::string> args{"--server", chat_url(), "--nick", nick};
        args.insert(args.end(), extra.begin(), extra.end());
        return std::make_unique<ChatClient>(args);
    }

    TempDir data_;
    std::unique_ptr<TestServer> server_;
};

TEST_F(ChatClientTest, TwoClientsSeeEachOthersLines) {
    start();
    auto alice = client("alice");
    auto bob = client("bob");
    alice->type("hello from alice\n");
    bob->type("hello from bob\n");
    EXPECT_TRUE(bob->wait_for_out("] alice: hello from alice\n")) << bob->out() << bob->err();
    EXPECT_TRUE(alice->wait_for_out("] bob: hello from bob\n")) << alice->out() << alice->err();
    alice->type("and a second line\n");
    EXPECT_TRUE(bob->wait_for_out("] alice: and a second line\n")) << bob->out() << bob->err();

    alice->close_stdin();
    bob->close_stdin();
    EXPECT_EQ(alice->wait_exit(), 0) << alice->err();
    EXPECT_EQ(bob->wait_exit(), 0) << bob->err();
    // A client does not print its own lines back: the terminal already shows them.
    EXPECT_EQ(alice->out().find("alice: "), std::string::npos) << alice->out();
    EXPECT_EQ(bob->out().find("bob: "), std::string::npos) << bob->out();
    EXPECT_EQ(alice->err().find("not sent"), std::string::npos) << alice->err();
}

TEST_F(ChatClientTest, LinesTypedBeforeEndOfInputAreAllPostedInOrder) {
    start();
    auto watcher = client("watcher");
    auto writer = client("writer");
    writer->type("one\ntwo\n\n   \nthree");  // blank lines are not sent; the last has no newline
    writer->close_stdin();
    EXPECT_EQ(writer->wait_exit(), 0) << writer->err();
    EXPECT_TRUE(watcher->wait_for_out("writer: three\n")) << watcher->out() << watcher->err();
    size_t one = watcher->out().find("writer: one\n");
    size_t two = watcher->out().find("writer: two\n");
    size_t three = watcher->out().find("writer: three\n");
    EXPECT_LT(one, two);
    EXPECT_LT(two, three);
    watcher->close_stdin();
    EXPECT_EQ(watcher->wait_exit(), 0) << watcher->err();
}

// Joining shows the room's last 20 messages; --since N shows every one after N.
TEST_F(ChatClientTest, JoiningShowsTheLastMessagesOrEverythingAfterSince) {
    start();
    auto writer = client("writer");
    for (int i = 1; i <= 25; ++i)
        writer->type("line " + std::to_string(i) + "\n");
    writer->close_stdin();
    ASSERT_EQ(writer->wait_exit(), 0) << writer->err();

    auto late = client("late");
    auto everything = client("everything", {"--since", "0"});
    auto after_24 = client("after", {"--since", "24"});
    EXPECT_TRUE(late->wait_for_out("writer: line 25\n")) << late->out() << late->err();
    EXPECT_TRUE(everything->wait_for_out("writer: line 25\n")) << everything->err();
    EXPECT_TRUE(after_24->wait_for_out("writer: line 25\n")) << after_24->err();
    EXPECT_EQ(late->out().find("writer: line 5\n"), std::string::npos) << late->out();
    EXPECT_NE(late->out().find("writer: line 6\n"), std::string::npos) << late->out();
    EXPECT_NE(everything->out().find("writer: line 1\n"), std::string::npos);
    EXPECT_EQ(after_24->out().find("writer: line 24\n"), std::string::npos);
    for (ChatClient* each : {late.get(), everything.get(), after_24.get()}) {
        each->close_stdin();
        EXPECT_EQ(each->wait_exit(), 0) << each->err();
    }
}

TEST_F(ChatClientTest, AsksForANicknameWhenNoneIsGiven) {
    start();
    auto bob = client("bob");
    ChatClient carol({"--server", chat_url()});
    EXPECT_TRUE(carol.wait_for_out("Nickname: ")) << carol.out() << carol.err();
    carol.type("carol\nhi from carol\n");
    EXPECT_TRUE(bob->wait_for_out("] carol: hi from carol\n")) << bob->out() << bob->err();
    carol.close_stdin();
    bob->close_stdin();
    EXPECT_EQ(carol.wait_exit(), 0) << carol.err();
    EXPECT_EQ(bob->wait_exit(), 0) << bob->err();
}

TEST_F(ChatClientTest, EndOfInputAtTheNicknamePromptIsAUsageError) {
    start();
    ChatClient nobody({"--server", chat_url()});
    nobody.close_stdin();
    EXPECT_EQ(nobody.wait_exit(), 2);
    EXPECT_NE(nobody.err().find("no nickname"), std::string::npos) << nobody.err();
}

// The chat refuses C0 controls in a nick but takes the C1 ones, such as U+009B, which some
// terminals read as CSI: the client must not pass it on.
TEST_F(ChatClientTest, AC1ControlInANickIsNotPrinted) {
    start();
    auto watcher = client("watcher");
    auto mallory = client(
        "\xC2\x9B"
        "31mmallory");
    mallory->type("red?\n");
    EXPECT_TRUE(watcher->wait_for_out("] 31mmallory: red?\n")) << watcher->out() << watcher->err();
    EXPECT_EQ(watcher->out().find("\xC2\x9B"), std::string::npos);
    mallory->close_stdin();
    watcher->close_stdin();
    EXPECT_EQ(mallory->wait_exit(), 0) << mallory->err();
    EXPECT_EQ(watcher->wait_exit(), 0) << watcher->err();
}

// A server that is not the chat can send anything: here an ESC sequence and a bell in a nick
// and a text, served as a static file in place of the chat's answer.
TEST_F(ChatClientTest, EscapeSequencesFromAHostileServerAreStripped) {
    TempDir site;
    site.write_file("room.json",
                    R"({"messages":[{"id":7,"time":0,"nick":"\u001b]0;owned\u0007evil\u001b[2J",)"
                    R"("text":"\u001b[31mred\u009b1m"}],"last_id":7})");
    server_ = std::make_unique<TestServer>(std::vector<std::string>{"--docroot", site.path()});
    ChatClient reader({"--server",
                       "http://127.0.0.1:" + std::to_string(server_->port()) + "/room.json",
                       "--nick", "reader"});
    EXPECT_TRUE(reader.wait_for_out("]0;ownedevil[2J: [31mred1m\n"))
        << reader.out() << reader.err();
    EXPECT_EQ(reader.out().find('\x1b'), std::string::npos);
    EXPECT_EQ(reader.out().find('\x07'), std::string::npos);
    reader.close_stdin();
    EXPECT_EQ(reader.wait_exit(), 0) << reader.err();
}

TEST_F(ChatClientTest, GarbageFromTheServerIsReportedAndRetried) {
    TempDir site;
    site.write_file("garbage.json", "{\"messages\":[{\"id\":1,\"nick\":\"x\"");
    server_ = std::make_unique<TestServer>(std::vector<std::string>{"--docroot", site.path()});
    ChatClient reader({"--server",
                       "http://127.0.0.1:" + std::to_string(server_->port()) + "/garbage.json",
                       "--nick", "reader"});
    EXPECT_TRUE(reader.wait_for_err("is not the chat's")) << reader.err();
    EXPECT_TRUE(reader.wait_for_err("trying again in")) << reader.err();
    reader.close_stdin();
    EXPECT_EQ(reader.wait_exit(), 0) << reader.err();
}

TEST_F(ChatClientTest, AStatusErrorIsReportedWithTheServersReason) {
    start();
    ChatClient lost({"--server",
                     "http://127.0.0.1:" + std::to_string(server_->port()) + "/cgi-bin/no-chat",
                     "--nick", "lost"});
    EXPECT_TRUE(lost.wait_for_err("the server answered 404")) << lost.err();
    lost.close_stdin();
    EXPECT_EQ(lost.wait_exit(), 0) << lost.err();
}

TEST_F(ChatClientTest, ARefusedLineIsReportedWithTheChatsReason) {
    start();
    auto long_nick = client(std::string(40, 'n'));  // the chat takes at most 32 characters
    long_nick->type("hello\n");
    long_nick->close_stdin();
    EXPECT_EQ(long_nick->wait_exit(), 0) << long_nick->err();
    EXPECT_NE(long_nick->err().find("a line was not sent: the server answered 400"),
              std::string::npos)
        << long_nick->err();
    EXPECT_NE(long_nick->err().find("The nick must be 1 to 32 characters"), std::string::npos)
        << long_nick->err();
}

// Nobody listens on the port: the client says so, keeps trying, and leaves when input ends.
TEST_F(ChatClientTest, AServerThatIsDownIsReportedNotFatal) {
    int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length), 0);
    ::close(probe);  // a port that was free a moment ago and has no listener
    std::string url =
        "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/cgi-bin/chat";
    ChatClient lonely({"--server", url, "--nick", "lonely"});
    EXPECT_TRUE(lonely.wait_for_err("cannot reach " + url)) << lonely.err();
    EXPECT_TRUE(lonely.wait_for_err("trying again in 2 s")) << lonely.err();
    lonely.type("anyone?\n");
    EXPECT_TRUE(lonely.wait_for_err("a line was not sent: cannot reach")) << lonely.err();
    lonely.close_stdin();
    EXPECT_EQ(lonely.wait_exit(), 0) << lonely.err();
}

// A name that does not resolve: libevent would look it up inside evhttp_make_request and fail
// before that call returned, which once crashed the client; now it is one more retried failure.
TEST_F(ChatClientTest, AHostThatDoesNotResolveIsReportedNotFatal) {
    const std::string url = "http://no-such-host.invalid/cgi-bin/chat";
    ChatClient lost({"--server", url, "--nick", "lost"});
    EXPECT_TRUE(lost.wait_for_err("cannot reach " + url)) << lost.err();
    EXPECT_TRUE(lost.wait_for_err("no-such-host.invalid")) << lost.err();
    EXPECT_TRUE(lost.wait_for_err("trying again in 2 s")) << lost.err();
    lost.type("hello?\n");
    EXPECT_TRUE(lost.wait_for_err("a line was not sent: cannot reach")) << lost.err();
    lost.close_stdin();
    EXPECT_EQ(lost.wait_exit(), 0) << lost.err();
}

TEST_F(ChatClientTest, BadOptionsAreUsageErrors) {
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"--server", "ftp://127.0.0.1/chat", "--nick", "x"},
             {"--server", "not a url", "--nick", "x"},
             {"--since", "minus one"},
             {"--no-such-option"},
         }) {
        ChatClient bad(args);
        bad.close_stdin();
        EXPECT_EQ(bad.wait_exit(), 2) << args[0] << ": " << bad.err();
    }
    ChatClient help({"--help"});
    EXPECT_EQ(help.wait_exit(), 0);
    EXPECT_NE(help.out().find("--server"), std::string::npos) << help.out();
}

TEST_F(ChatClientTest, TalksOverHttpsCheckingTheCertificate) {
    TempDir certificates;
    TestCertificateAuthority ca(certificates.path());
    ASSERT_TRUE(ca.ok()) << "openssl could not make a test CA";
    ServerCertificate certificate = ca.issue("cgihost-chat");
    ASSERT_FALSE(certificate.cert.empty());
    start({"--listen-tls", "127.0.0.1:0", "--tls-cert", certificate.cert, "--tls-key",
           certificate.key});
    std::string https_url =
        "https://127.0.0.1:" + std::to_string(server_->tls_port()) + "/cgi-bin/chat";
    auto plain = client("plain");
    ChatClient secure({"--server", https_url, "--nick", "secure", "--cacert", ca.ca_file()});
    secure.type("over TLS\n");
    plain->type("over TCP\n");
    EXPECT_TRUE(plain->wait_for_out("] secure: over TLS\n")) << plain->out() << plain->err();
    EXPECT_TRUE(secure.wait_for_out("] plain: over TCP\n")) << secure.out() << secure.err();

    // Without our CA the certificate is not trusted: said on stderr, never printed as chat.
    ChatClient doubtful({"--server", https_url, "--nick", "doubtful"});
    EXPECT_TRUE(doubtful.wait_for_err("certificate verify failed")) << doubtful.err();
    for (ChatClient* each : {&secure, &doubtful, plain.get()}) {
        each->close_stdin();
        EXPECT_EQ(each->wait_exit(), 0) << each->err();
    }
    EXPECT_EQ(doubtful.out(), "");
}

}  // namespace
}  // namespace cgihost::testing
