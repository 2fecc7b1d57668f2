// The libevent shell of chat-client: one event loop with a long poll always outstanding, the
// user's lines read from fd 0 and posted one at a time, and messages printed as they arrive.
// Everything it decides from bytes lives in the pure modules beside it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cgihost::chat_client {

struct ClientOptions {
    std::string server_url = "http://127.0.0.1:8080/cgi-bin/chat";
    std::string nick;
    std::optional<uint64_t> since;  // unset: show the room's last few messages, then new ones
    std::string cacert;             // https: trust these CAs (PEM) instead of the system's
};

// Exit status: 0 once stdin has ended and every line is posted (or refused, with a message);
// 2 for a server URL we cannot use; 1 when we cannot go on (no TLS context, stdout gone).
// An unreachable server is never fatal: polls retry with a growing delay, saying so on stderr.
int run_chat_session(const ClientOptions& options);

}  // namespace cgihost::chat_client
