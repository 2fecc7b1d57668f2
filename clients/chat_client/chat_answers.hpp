// The chat sample's JSON answers (cgi-bin/chat.cpp), decoded from untrusted bytes:
//   GET  ?since=N  {"messages":[{"id":..,"time":..,"nick":"..","text":".."},...],"last_id":M}
//   POST           {"ok":true,"id":N}, or {"ok":false,"error":".."} with a 4xx/5xx status
// Members we do not know are ignored, so the server may add some; members we need must be
// there with the right type, or the whole answer is refused with one line saying why.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cgihost::chat_client {

struct ChatMessage {
    uint64_t id = 0;
    int64_t time = 0;  // seconds since the epoch
    std::string nick;  // UTF-8, still to be sanitized before it reaches a terminal
    std::string text;

    bool operator==(const ChatMessage&) const = default;
};

struct PollAnswer {
    std::vector<ChatMessage> messages;
    uint64_t last_id = 0;
};

template <typename T>
struct Decoded {
    std::optional<T> value;
    std::string error;  // set when value is not
};

Decoded<PollAnswer> decode_poll_answer(std::string_view body);
// The id the server gave a posted message.
Decoded<uint64_t> decode_post_answer(std::string_view body);
// The "error" text of a refusal, when the body is such a JSON object.
std::optional<std::string> decode_error_answer(std::string_view body);

}  // namespace cgihost::chat_client
