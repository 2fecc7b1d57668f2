// chat-client: the talking room (cgi-bin/chat) in a terminal. Lines typed are posted as
// `nick`; everyone else's messages are printed as "[HH:MM] nick: text" as they arrive.
//   chat-client --server http://127.0.0.1:8080/cgi-bin/chat --nick alice
// Without --nick it asks for one on stdin. End of input (Ctrl-D) leaves once every typed line
// is posted. See chat_session.hpp for the exit statuses.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <exception>
#include <iostream>
#include <optional>
#include <string>

#include "chat_client/chat_session.hpp"

namespace {

constexpr size_t kMaxNickBytes = 128;  // the chat takes 32 characters; it says so itself

// Reads one line from fd 0 a byte at a time, so that nothing after it is taken from the lines
// the session will read; nullopt at end of input.
std::optional<std::string> read_nick_line() {
    std::string line;
    for (;;) {
        char c = 0;
        ssize_t got = ::read(STDIN_FILENO, &c, 1);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return line.empty() ? std::nullopt : std::optional(line);
        if (c == '\n') return line;
        if (line.size() < kMaxNickBytes) line += c;
    }
}

std::optional<std::string> prompt_for_nick() {
    for (;;) {
        std::cout << "Nickname: " << std::flush;
        std::optional<std::string> line = read_nick_line();
        if (!line) return std::nullopt;
        if (!line->empty() && line->back() == '\r') line->pop_back();
        if (line->find_first_not_of(" \t") != std::string::npos) return line;
    }
}

int run(int argc, char** argv) {
    cgihost::chat_client::ClientOptions options;
    CLI::App app{"chat-client: talk in cgihost's chat room (cgi-bin/chat) from a terminal"};
    app.add_option("--server", options.server_url, "the chat's URL (http:// or https://)")
        ->capture_default_str();
    app.add_option("--nick", options.nick, "your nickname; asked for on stdin when absent");
    app.add_option("--since", options.since,
                   "show every message after this id on joining (default: the last 20)");
    app.add_option("--cacert", options.cacert,
                   "https: trust the CA certificates in this PEM file, not the system's")
        ->check(CLI::ExistingFile);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        int status = app.exit(error);
        return status == 0 ? 0 : 2;
    }
    // A server that closes while we write must not kill us silently: write errors say why.
    (void)std::signal(SIGPIPE, SIG_IGN);
    if (options.nick.empty()) {
        std::optional<std::string> nick = prompt_for_nick();
        if (!nick) {
            std::cerr << "chat-client: no nickname given\n";
            return 2;
        }
        options.nick = *nick;
    }
    return cgihost::chat_client::run_chat_session(options);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& error) {  // out of memory, say: one line, not an abort
        std::cerr << "chat-client: " << error.what() << '\n';
        return 1;
    }
}
