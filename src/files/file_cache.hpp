// A worker's memory of the static files it has served. A repeated request then costs one
// stat() (or, for a file sent from disk, the open() and fstat() it needs anyway) instead of
// resolving the path again (an lstat() per segment and access()), opening, reading and closing
// the file and formatting its validators. Every use first checks that the file is still the
// one remembered: device, inode, size, and mtime and ctime to the nanosecond (every write and
// every chmod moves ctime). So nothing stale is served, unlike nginx's open_file_cache or
// lighttpd's stat cache, which trust what they saw for a second or more — unless the operator
// asks for that trade (--file-check-interval: find_checked_since).
// A file changed within the last second is not remembered: the kernel stamps mtime and ctime
// from a clock that advances only every few milliseconds, so two same-size writes close together
// can leave the same identity (git's "racy" files). Once a second has passed since its last
// change, any further change shows. Only GET/HEAD answers of regular files are remembered,
// never a failure. One cache per worker thread, so no locks; bounded in entries and in bytes
// of content.
#pragma once

#include <sys/stat.h>
#include <time.h>

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "util/unique_fd.hpp"

namespace cgihost {

// What tells one version of a file from another.
struct FileIdentity {
    uint64_t device = 0;
    uint64_t inode = 0;
    uint64_t size = 0;
    int64_t mtime_sec = 0;
    int64_t mtime_nsec = 0;
    int64_t ctime_sec = 0;
    int64_t ctime_nsec = 0;
    friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};

FileIdentity identity_of(const struct stat& st);

// A regular file as served: its validators and type, formatted once, and, when it is small,
// its bytes (shared with the responses that are sending them).
struct FileFacts {
    std::string path;  // the resolver's canonical path
    FileIdentity identity;
    std::string etag;
    std::string last_modified;
    std::string content_type;
    std::shared_ptr<const std::string> content;  // the whole file, or null: sent from disk
};

class FileCache {
  public:
    struct Limits {
        size_t max_entries = 4096;
        uint64_t max_content_bytes = uint64_t{8} * 1024 * 1024;
    };
    // A remembered file, still unchanged; `file` is open on it when it is sent from disk.
    struct Hit {
        std::shared_ptr<const FileFacts> facts;
        UniqueFd file;
    };

    FileCache() = default;
    explicit FileCache(Limits limits) : limits_(limits) {}

    // The file remembered for this (still percent-encoded) URL path under `site`, if it has
    // not changed since; a changed or vanished one is forgotten and nullopt returned, so the
    // caller resolves the path afresh. A different `site` (a reload) forgets everything.
    // With `in_memory_only`, a file sent from disk is not opened and counts as not found.
    // `seen`, when given, is a stat() of the file the path leads to now, just taken by the
    // caller's resolver: a file held in memory is checked against it instead of a stat() here.
    // `now` (monotonic seconds) is noted as the entry's last check when it is found unchanged.
    std::optional<Hit> find(const std::shared_ptr<const void>& site, const std::string& raw_path,
                            bool in_memory_only = false, const struct stat* seen = nullptr,
                            double now = 0);
    // Whether find could find raw_path, looking at nothing on disk: so a caller resolves the
    // path (for `seen`) only when it may be worth it.
    bool knows(const std::shared_ptr<const void>& site, const std::string& raw_path,
               bool in_memory_only = false) const;
    // A file held in memory whose last check (find with `now`, or remember) was at or after
    // `since`, looking at nothing on disk: what --file-check-interval trusts.
    std::optional<Hit> find_checked_since(const std::shared_ptr<const void>& site,
                                          const std::string& raw_path, double since) const;
    // Forgets raw_path (it no longer leads to a file).
    void forget(const std::string& raw_path);

    // Remembers what serving raw_path found, making room by forgetting the oldest entries,
    // unless the file changed less than kSettleNanoseconds before `now` (CLOCK_REALTIME).
    static constexpr int64_t kSettleNanoseconds = 1'000'000'000;
    // `checked` (monotonic seconds) is when the file was found as `facts` says.
    void remember(const std::shared_ptr<const void>& site, const std::string& raw_path,
                  std::shared_ptr<const FileFacts> facts, const timespec& now, double checked = 0);

    size_t size() const { return entries_.size(); }
    uint64_t content_bytes() const { return content_bytes_; }

  private:
    struct Entry {
        std::shared_ptr<const FileFacts> facts;
        std::list<std::string>::iterator age;  // its place in oldest_
        double checked = 0;                    // monotonic seconds of its last check
    };
    void forget(std::unordered_map<std::string, Entry>::iterator it);
    void clear();

    Limits limits_;
    std::shared_ptr<const void> site_;  // held, so a new site can never share its address
    std::unordered_map<std::string, Entry> entries_;
    std::list<std::string> oldest_;  // keys, oldest first
    uint64_t content_bytes_ = 0;
};

}  // namespace cgihost
