// The chat's room file (cgi-bin/support/chat_records): the record format, and finding and
// reading records by offset in a real file.
#include "chat_records.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace samples::chat {
namespace {

// An unlinked temporary file holding `content`, closed on destruction.
class RoomFile {
  public:
    explicit RoomFile(const std::string& content) {
        const char* tmp = std::getenv("TMPDIR");
        std::string name =
            std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/chat-records-XXXXXX";
        fd_ = ::mkstemp(name.data());
        EXPECT_GE(fd_, 0);
        ::unlink(name.c_str());
        EXPECT_EQ(::write(fd_, content.data(), content.size()),
                  static_cast<ssize_t>(content.size()));
    }
    ~RoomFile() { ::close(fd_); }
    RoomFile(const RoomFile&) = delete;
    RoomFile& operator=(const RoomFile&) = delete;

    int fd() const { return fd_; }
    uint64_t size() const { return file_size(fd_); }

  private:
    int fd_ = -1;
};

Message message(uint64_t id, size_t text_bytes) {
    return Message{id, 1'700'000'000, "nick" + std::to_string(id),
                   std::string(text_bytes, static_cast<char>('a' + id % 26))};
}

std::vector<uint64_t> ids_of(const std::vector<Message>& messages) {
    std::vector<uint64_t> ids;
    ids.reserve(messages.size());
    for (const Message& m : messages) {
        ids.push_back(m.id);
    }
    return ids;
}

TEST(ChatRecords, AMessageWithTabsLineBreaksAndBackslashesIsOneLineAndComesBack) {
    Message original{42, 1'700'000'000, "a\\b\tc", "line one\nline two\r\n\\t is not a tab\t"};
    std::string record = format_record(original);
    ASSERT_EQ(record.back(), '\n');
    EXPECT_EQ(record.find('\n'), record.size() - 1);
    auto parsed = parse_record(std::string_view(record).substr(0, record.size() - 1));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->id, 42u);
    EXPECT_EQ(parsed->time, 1'700'000'000);
    EXPECT_EQ(parsed->nick, original.nick);
    EXPECT_EQ(parsed->text, original.text);
}

TEST(ChatRecords, LinesThatAreNotRecordsAreRefused) {
    for (const char* line :
         {"", "1\t2\t3", "x\t2\tnick\ttext", "1\t-\tnick\ttext", "-1\t2\tn\tt"}) {
        EXPECT_FALSE(parse_record(line)) << line;
    }
}

// Ids with gaps, records from tiny to several probes long, a line that is not a record, and a
// record still being written at the end: for every `since`, the search lands exactly where a
// line-by-line scan would, and reading from there gives exactly the ids above `since`.
TEST(ChatRecords, TheSearchFindsThePlaceAfterEveryIdAsAScanWould) {
    const std::vector<uint64_t> ids = {3, 4, 7, 8, 9, 15, 16, 40, 41, 42, 100};
    std::string content;
    std::vector<std::pair<uint64_t, uint64_t>> starts;  // id, offset
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i == 5) content += "not a record\n";
        starts.emplace_back(ids[i], content.size());
        content += format_record(message(ids[i], (i * 397) % 1700));
    }
    const uint64_t complete = content.size();
    content += "101\t1700000000\tnick\tstill being wri";
    RoomFile room(content);
    for (uint64_t since = 0; since <= 102; ++since) {
        uint64_t expected = complete;
        for (const auto& [id, offset] : starts) {
            if (id > since) {
                expected = offset;
                break;
            }
        }
        uint64_t offset = offset_after(room.fd(), room.size(), since);
        ASSERT_EQ(offset, expected) << "since=" << since;
        std::vector<uint64_t> above;
        for (uint64_t id : ids) {
            if (id > since) above.push_back(id);
        }
        EXPECT_EQ(ids_of(read_records(room.fd(), offset, room.size())), above) << since;
        EXPECT_EQ(offset, complete) << "the unfinished line is left for the next look";
    }
}

TEST(ChatRecords, TheSearchInAnEmptyFileIsItsEnd) {
    RoomFile room("");
    EXPECT_EQ(offset_after(room.fd(), 0, 0), 0u);
    EXPECT_FALSE(last_record(room.fd(), 0));
}

TEST(ChatRecords, TheLastRecordIsFoundBehindALongOneAndBeforeAnUnfinishedLine) {
    std::string content = format_record(message(1, 10)) + format_record(message(2, 5000));
    RoomFile whole(content);
    ASSERT_TRUE(last_record(whole.fd(), whole.size()));
    EXPECT_EQ(last_record(whole.fd(), whole.size())->id, 2u);
    EXPECT_EQ(last_record(whole.fd(), whole.size())->text.size(), 5000u);

    RoomFile unfinished(content + "3\t1700000000\tn");
    EXPECT_EQ(last_record(unfinished.fd(), unfinished.size())->id, 2u);
}

TEST(ChatRecords, ReadingFromAnOffsetReadsOnlyWhatFollowsIt) {
    std::string first = format_record(message(1, 20)) + format_record(message(2, 20));
    RoomFile room(first + format_record(message(3, 20)));
    uint64_t offset = first.size();
    EXPECT_EQ(ids_of(read_records(room.fd(), offset, room.size())), std::vector<uint64_t>{3});
    EXPECT_EQ(offset, room.size());
    EXPECT_TRUE(read_records(room.fd(), offset, room.size()).empty());
}

}  // namespace
}  // namespace samples::chat
