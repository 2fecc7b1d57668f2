// libFuzzer target: chat-client's decoding of the chat's answers (clients/chat_client), which
// come from a server we do not trust. Properties: every string the JSON reader accepts is
// well-formed UTF-8; what reaches the terminal has no control character and sanitizing it
// again changes nothing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "chat_client/chat_answers.hpp"
#include "chat_client/json_value.hpp"
#include "chat_client/terminal_text.hpp"

namespace {

using cgihost::chat_client::JsonValue;

// Decoding and re-checking one code point at a time: well-formed means sanitizing keeps it.
void check_utf8(const std::string& text) {
    std::string without_controls;
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte != 0x7F) without_controls += c;
    }
    std::string clean = cgihost::chat_client::sanitize_for_terminal(without_controls, false);
    if (clean.find("\xEF\xBF\xBD") != std::string::npos &&
        without_controls.find("\xEF\xBF\xBD") == std::string::npos) {
        std::abort();  // a byte the reader let through was not UTF-8
    }
}

void check_value(const JsonValue& value) {
    check_utf8(value.text);
    for (const JsonValue& item : value.items)
        check_value(item);
    for (const auto& member : value.members) {
        check_utf8(member.name);
        check_value(member.value);
    }
}

void check_terminal_safe(const std::string& printed) {
    for (size_t i = 0; i < printed.size(); ++i) {
        auto byte = static_cast<unsigned char>(printed[i]);
        if ((byte < 0x20 && byte != '\t' && byte != '\n') || byte == 0x7F) std::abort();
        if (byte == 0xC2 && i + 1 < printed.size() &&
            static_cast<unsigned char>(printed[i + 1]) < 0xA0) {
            std::abort();  // a C1 control
        }
    }
    if (cgihost::chat_client::sanitize_for_terminal(printed, true) != printed) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
    std::string_view body(reinterpret_cast<const char*>(bytes), size);
    cgihost::chat_client::JsonParseResult parsed = cgihost::chat_client::parse_json(body);
    if (parsed.value) {
        check_value(*parsed.value);
    } else if (parsed.error.empty()) {
        std::abort();  // a refusal always says why
    }
    auto answer = cgihost::chat_client::decode_poll_answer(body);
    if (answer.value) {
        for (const auto& message : answer.value->messages) {
            check_terminal_safe(cgihost::chat_client::format_message_line(message, "12:34"));
        }
    }
    (void)cgihost::chat_client::decode_post_answer(body);
    if (auto error = cgihost::chat_client::decode_error_answer(body)) check_utf8(*error);
    check_terminal_safe(cgihost::chat_client::sanitize_for_terminal(body, true));
    return 0;
}
