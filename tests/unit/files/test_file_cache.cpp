#include "files/file_cache.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace cgihost {
namespace {

namespace fs = std::filesystem;

class FileCacheTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/cgihost-file-cache-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        root_ = pattern;
    }
    void TearDown() override {
        std::error_code ignored;
        fs::remove_all(root_, ignored);
    }

    std::string write(const std::string& name, const std::string& content) {
        const fs::path path = root_ / name;
        std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
        return path.string();
    }

    // The facts serving the file would gather; content kept unless `from_disk`.
    static std::shared_ptr<const FileFacts> facts_of(const std::string& path,
                                                     bool from_disk = false) {
        struct stat st {};
        EXPECT_EQ(::stat(path.c_str(), &st), 0);
        auto facts = std::make_shared<FileFacts>();
        facts->path = path;
        facts->identity = identity_of(st);
        facts->etag = "\"e\"";
        if (!from_disk) {
            std::ifstream in(path, std::ios::binary);
            facts->content = std::make_shared<std::string>(std::istreambuf_iterator<char>(in),
                                                           std::istreambuf_iterator<char>());
        }
        return facts;
    }

    // A moment long enough after every change made by the test for files to count as settled.
    static timespec settled() {
        timespec now{};
        ::clock_gettime(CLOCK_REALTIME, &now);
        now.tv_sec += 2;
        return now;
    }

    fs::path root_;
    std::shared_ptr<const void> site_ = std::make_shared<int>(1);
};

TEST_F(FileCacheTest, FindsAnUnchangedFileUnderTheSameSite) {
    FileCache cache;
    const std::string path = write("a.txt", "hello");
    auto facts = facts_of(path);
    cache.remember(site_, "/a.txt", facts, settled());
    std::optional<FileCache::Hit> hit = cache.find(site_, "/a.txt");
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->facts, facts);
    EXPECT_FALSE(hit->file);  // its bytes are in memory: nothing opened
    EXPECT_FALSE(cache.find(site_, "/b.txt"));
    EXPECT_EQ(cache.content_bytes(), 5u);
}

// The caller's resolver has just stat()ed the file: find checks against that, not a stat of its
// own, so a stat showing another version forgets the entry even though the disk did not change.
TEST_F(FileCacheTest, ChecksAFileInMemoryAgainstTheStatItIsGiven) {
    FileCache cache;
    const std::string path = write("a.txt", "hello");
    cache.remember(site_, "/a.txt", facts_of(path), settled());
    EXPECT_TRUE(cache.knows(site_, "/a.txt"));
    EXPECT_TRUE(cache.knows(site_, "/a.txt", true));
    EXPECT_FALSE(cache.knows(site_, "/b.txt"));
    EXPECT_FALSE(cache.knows(std::make_shared<int>(2), "/a.txt"));
    struct stat seen {};
    ASSERT_EQ(::stat(path.c_str(), &seen), 0);
    EXPECT_TRUE(cache.find(site_, "/a.txt", true, &seen));
    seen.st_mtim.tv_nsec ^= 1;  // what the walk saw is another version
    EXPECT_FALSE(cache.find(site_, "/a.txt", true, &seen));
    EXPECT_FALSE(cache.knows(site_, "/a.txt"));
    cache.remember(site_, "/a.txt", facts_of(path), settled());
    cache.forget("/a.txt");
    EXPECT_FALSE(cache.knows(site_, "/a.txt"));
    EXPECT_EQ(cache.size(), 0u);
}

// --file-check-interval: a file in memory checked at or after `since` is found without a look
// at the disk; a check by find (with its `now`) or by remember renews it; a file sent from
// disk never is (it is opened anyway).
TEST_F(FileCacheTest, FindsAFileCheckedSinceAGivenMomentWithoutLookingAtTheDisk) {
    FileCache cache;
    const std::string path = write("a.txt", "hello");
    const std::string disk = write("b.bin", "bytes");
    cache.remember(site_, "/a.txt", facts_of(path), settled(), 100.0);
    cache.remember(site_, "/b.bin", facts_of(disk, true), settled(), 100.0);
    EXPECT_TRUE(cache.find_checked_since(site_, "/a.txt", 99.0));
    EXPECT_TRUE(cache.find_checked_since(site_, "/a.txt", 100.0));
    EXPECT_FALSE(cache.find_checked_since(site_, "/a.txt", 100.5));
    EXPECT_FALSE(cache.find_checked_since(site_, "/b.bin", 0.0));
    EXPECT_FALSE(cache.find_checked_since(std::make_shared<int>(2), "/a.txt", 0.0));
    EXPECT_FALSE(cache.find_checked_since(site_, "/c.txt", 0.0));
    write("a.txt", "HELLO");  // changed on disk: trusted all the same until the check is old
    auto trusted = cache.find_checked_since(site_, "/a.txt", 99.0);
    ASSERT_TRUE(trusted);
    EXPECT_EQ(*trusted->facts->content, "hello");
    cache.remember(site_, "/a.txt", facts_of(path), settled(), 100.0);
    struct stat seen {};
    ASSERT_EQ(::stat(path.c_str(), &seen), 0);
    ASSERT_TRUE(cache.find(site_, "/a.txt", true, &seen, 200.0));  // checked again at 200
    EXPECT_TRUE(cache.find_checked_since(site_, "/a.txt", 150.0));
}

TEST_F(FileCacheTest, OpensAFileSentFromDiskAndChecksTheDescriptor) {
    FileCache cache;
    const std::string path = write("big.bin", "pretend this is large");
    cache.remember(site_, "/big.bin", facts_of(path, true), settled());
    std::optional<FileCache::Hit> hit = cache.find(site_, "/big.bin");
    ASSERT_TRUE(hit);
    ASSERT_TRUE(hit->file);
    char first = 0;
    EXPECT_EQ(::pread(hit->file.get(), &first, 1, 0), 1);
    EXPECT_EQ(first, 'p');
}

TEST_F(FileCacheTest, ForgetsAFileRewrittenWithTheSameSize) {
    FileCache cache;
    const std::string path = write("a.txt", "hello");
    cache.remember(site_, "/a.txt", facts_of(path), settled());
    // A later change moves ctime on, whatever utimensat did to mtime.
    struct stat before {};
    ASSERT_EQ(::stat(path.c_str(), &before), 0);
    do {
        write("a.txt", "HELLO");
        struct stat after {};
        ASSERT_EQ(::stat(path.c_str(), &after), 0);
        if (identity_of(after) != identity_of(before)) break;
        ::usleep(1000);  // the same clock tick: write again until the kernel's clock moves
    } while (true);
    EXPECT_FALSE(cache.find(site_, "/a.txt"));
    EXPECT_EQ(cache.size(), 0u);
}

TEST_F(FileCacheTest, ForgetsAFileReplacedOrRemoved) {
    FileCache cache;
    const std::string path = write("a.txt", "hello");
    cache.remember(site_, "/a.txt", facts_of(path), settled());
    const std::string other = write("b.txt", "other");
    ASSERT_EQ(::rename(other.c_str(), path.c_str()), 0);  // another inode at the same path
    EXPECT_FALSE(cache.find(site_, "/a.txt"));

    cache.remember(site_, "/a.txt", facts_of(path), settled());
    ASSERT_EQ(::unlink(path.c_str()), 0);
    EXPECT_FALSE(cache.find(site_, "/a.txt"));
}

TEST_F(FileCacheTest, ForgetsAFileMadeUnreadableByChmod) {
    FileCache cache;
    const std::string path = write("a.txt", "hello");
    cache.remember(site_, "/a.txt", facts_of(path), settled());
    ASSERT_EQ(::chmod(path.c_str(), 0), 0);  // even as root, which can still read it: ctime moved
    EXPECT_FALSE(cache.find(site_, "/a.txt"));
}

TEST_F(FileCacheTest, DoesNotRememberAFileChangedWithinTheLastSecond) {
    FileCache cache;
    const std::string path = write("a.txt", "hello");
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    cache.remember(site_, "/a.txt", facts_of(path), now);
    EXPECT_FALSE(cache.find(site_, "/a.txt"));
    cache.remember(site_, "/a.txt", facts_of(path), settled());
    EXPECT_TRUE(cache.find(site_, "/a.txt"));
}

TEST_F(FileCacheTest, AnotherSiteForgetsEverything) {
    FileCache cache;
    const std::string path = write("a.txt", "hello");
    cache.remember(site_, "/a.txt", facts_of(path), settled());
    std::shared_ptr<const void> reloaded = std::make_shared<int>(2);
    EXPECT_FALSE(cache.find(reloaded, "/a.txt"));
    EXPECT_FALSE(cache.find(site_, "/a.txt"));  // gone, not kept for the old site
    EXPECT_EQ(cache.size(), 0u);
}

TEST_F(FileCacheTest, StaysWithinItsEntryAndByteBounds) {
    FileCache cache(FileCache::Limits{3, 10});
    for (int i = 0; i < 5; ++i) {
        const std::string name = "f" + std::to_string(i);
        cache.remember(site_, "/" + name, facts_of(write(name, "abc")), settled());
        EXPECT_LE(cache.size(), 3u);
        EXPECT_LE(cache.content_bytes(), 9u);
    }
    EXPECT_FALSE(cache.find(site_, "/f0"));  // the oldest went first
    EXPECT_FALSE(cache.find(site_, "/f1"));
    EXPECT_TRUE(cache.find(site_, "/f4"));
    // Four bytes more would pass the byte bound: the oldest make room.
    cache.remember(site_, "/big", facts_of(write("big", "abcd")), settled());
    EXPECT_LE(cache.content_bytes(), 10u);
    EXPECT_TRUE(cache.find(site_, "/big"));
    // A file larger than the whole bound is never kept.
    cache.remember(site_, "/huge", facts_of(write("huge", std::string(11, 'h'))), settled());
    EXPECT_FALSE(cache.find(site_, "/huge"));
}

}  // namespace
}  // namespace cgihost
