#include "chat_client/chat_answers.hpp"

#include "chat_client/json_value.hpp"

namespace cgihost::chat_client {
namespace {

using Kind = JsonValue::Kind;

// Thrown while picking members out of a parsed answer; caught in the decode_* functions.
struct ShapeError {
    std::string message;
};

const JsonValue& member(const JsonValue& object, std::string_view name, Kind kind) {
    const JsonValue* value = object.find(name);
    if (value == nullptr) throw ShapeError{"no \"" + std::string(name) + "\""};
    if (value->kind != kind) throw ShapeError{"\"" + std::string(name) + "\" has the wrong type"};
    return *value;
}

uint64_t unsigned_member(const JsonValue& object, std::string_view name) {
    auto number = json_to_uint64(member(object, name, Kind::number));
    if (!number) throw ShapeError{"\"" + std::string(name) + "\" is not an id"};
    return *number;
}

ChatMessage message_from(const JsonValue& item) {
    if (item.kind != Kind::object) throw ShapeError{"a message that is not an object"};
    ChatMessage message;
    message.id = unsigned_member(item, "id");
    auto time = json_to_int64(member(item, "time", Kind::number));
    if (!time) throw ShapeError{"\"time\" is not a whole number of seconds"};
    message.time = *time;
    message.nick = member(item, "nick", Kind::string).text;
    message.text = member(item, "text", Kind::string).text;
    return message;
}

// Parses `body` and requires an object at its top.
JsonValue parse_object(std::string_view body) {
    JsonParseResult parsed = parse_json(body);
    if (!parsed.value) throw ShapeError{"not JSON: " + parsed.error};
    if (parsed.value->kind != Kind::object) throw ShapeError{"not a JSON object"};
    return std::move(*parsed.value);
}

}  // namespace

Decoded<PollAnswer> decode_poll_answer(std::string_view body) {
    try {
        JsonValue root = parse_object(body);
        PollAnswer answer;
        for (const JsonValue& item : member(root, "messages", Kind::array).items) {
            answer.messages.push_back(message_from(item));
        }
        answer.last_id = unsigned_member(root, "last_id");
        return {std::move(answer), {}};
    } catch (const ShapeError& error) {
        return {std::nullopt, error.message};
    }
}

Decoded<uint64_t> decode_post_answer(std::string_view body) {
    try {
        JsonValue root = parse_object(body);
        if (!member(root, "ok", Kind::boolean).boolean) throw ShapeError{"\"ok\" is false"};
        return {unsigned_member(root, "id"), {}};
    } catch (const ShapeError& error) {
        return {std::nullopt, error.message};
    }
}

std::optional<std::string> decode_error_answer(std::string_view body) {
    try {
        return member(parse_object(body), "error", Kind::string).text;
    } catch (const ShapeError&) {
        return std::nullopt;
    }
}

}  // namespace cgihost::chat_client
