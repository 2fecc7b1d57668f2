#include "chat_client/chat_answers.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cgihost::chat_client {
namespace {

TEST(DecodePollAnswer, ReadsTheChatsMessagesAndLastId) {
    Decoded<PollAnswer> answer = decode_poll_answer(
        R"({"messages":[{"id":3,"time":1700000000,"nick":"ann","text":"hi\nthere"},)"
        R"({"id":4,"time":1700000060,"nick":"b\u00f6b","text":"\ud83d\ude00"}],"last_id":4})"
        "\n");
    ASSERT_TRUE(answer.value) << answer.error;
    ASSERT_EQ(answer.value->messages.size(), 2u);
    EXPECT_EQ(answer.value->messages[0], (ChatMessage{3, 1700000000, "ann", "hi\nthere"}));
    EXPECT_EQ(answer.value->messages[1], (ChatMessage{4, 1700000060,
                                                      "b\xC3\xB6"
                                                      "b",
                                                      "\xF0\x9F\x98\x80"}));
    EXPECT_EQ(answer.value->last_id, 4u);
}

TEST(DecodePollAnswer, IgnoresMembersItDoesNotKnow) {
    Decoded<PollAnswer> answer = decode_poll_answer(
        R"({"room":"main","messages":[{"id":1,"time":0,"nick":"a","text":"b","colour":"red"}],)"
        R"("last_id":1,"more":{"x":[1,2]}})");
    ASSERT_TRUE(answer.value) << answer.error;
    EXPECT_EQ(answer.value->messages.size(), 1u);
}

TEST(DecodePollAnswer, AnEmptyRoomHasNoMessages) {
    Decoded<PollAnswer> answer = decode_poll_answer(R"({"messages":[],"last_id":0})");
    ASSERT_TRUE(answer.value) << answer.error;
    EXPECT_TRUE(answer.value->messages.empty());
    EXPECT_EQ(answer.value->last_id, 0u);
}

TEST(DecodePollAnswer, RefusesAnswersOfTheWrongShape) {
    const char* bad[] = {
        "<html>502 Bad Gateway</html>",
        "[]",
        R"({"messages":[]})",
        R"({"last_id":1})",
        R"({"messages":{},"last_id":1})",
        R"({"messages":[],"last_id":-1})",
        R"({"messages":[],"last_id":"1"})",
        R"({"messages":[],"last_id":1.5})",
        R"({"messages":[1],"last_id":1})",
        R"({"messages":[{"time":0,"nick":"a","text":"b"}],"last_id":1})",
        R"({"messages":[{"id":1,"nick":"a","text":"b"}],"last_id":1})",
        R"({"messages":[{"id":1,"time":0,"text":"b"}],"last_id":1})",
        R"({"messages":[{"id":1,"time":0,"nick":"a"}],"last_id":1})",
        R"({"messages":[{"id":1,"time":0.5,"nick":"a","text":"b"}],"last_id":1})",
        R"({"messages":[{"id":1,"time":0,"nick":7,"text":"b"}],"last_id":1})",
        R"({"messages":[{"id":1,"time":0,"nick":"a","text":null}],"last_id":1})",
    };
    for (const char* body : bad) {
        Decoded<PollAnswer> answer = decode_poll_answer(body);
        EXPECT_FALSE(answer.value) << body;
        EXPECT_FALSE(answer.error.empty()) << body;
    }
}

TEST(DecodePostAnswer, ReadsTheNewId) {
    Decoded<uint64_t> id = decode_post_answer("{\"ok\":true,\"id\":42}\n");
    ASSERT_TRUE(id.value) << id.error;
    EXPECT_EQ(*id.value, 42u);
}

TEST(DecodePostAnswer, RefusesRefusalsAndGarbage) {
    for (const char* body : {R"({"ok":false,"error":"no"})", R"({"ok":true})",
                             R"({"ok":"true","id":1})", R"({"id":1})", "OK", ""}) {
        EXPECT_FALSE(decode_post_answer(body).value) << body;
    }
}

TEST(DecodeErrorAnswer, ReadsTheErrorTextOfARefusal) {
    EXPECT_EQ(decode_error_answer(R"({"ok":false,"error":"The nick must be 1 to 32 characters."})"),
              "The nick must be 1 to 32 characters.");
    EXPECT_FALSE(decode_error_answer("<html><body>403</body></html>"));
    EXPECT_FALSE(decode_error_answer(R"({"ok":false,"error":3})"));
}

}  // namespace
}  // namespace cgihost::chat_client
