#include "files/file_cache.hpp"

#include <fcntl.h>

#include <algorithm>

namespace cgihost {
namespace {

uint64_t content_size(const FileFacts& facts) {
    return facts.content ? facts.content->size() : 0;
}

constexpr int64_t kNanosecondsPerSecond = 1'000'000'000;

int64_t nanoseconds(int64_t seconds, int64_t nanos) {
    return seconds * kNanosecondsPerSecond + nanos;
}

}  // namespace

FileIdentity identity_of(const struct stat& st) {
    return FileIdentity{static_cast<uint64_t>(st.st_dev),
                        static_cast<uint64_t>(st.st_ino),
                        static_cast<uint64_t>(st.st_size),
                        st.st_mtim.tv_sec,
                        st.st_mtim.tv_nsec,
                        st.st_ctim.tv_sec,
                        st.st_ctim.tv_nsec};
}

bool FileCache::knows(const std::shared_ptr<const void>& site, const std::string& raw_path,
                      bool in_memory_only) const {
    if (site != site_) return false;
    auto it = entries_.find(raw_path);
    return it != entries_.end() && (!in_memory_only || it->second.facts->content);
}

void FileCache::forget(const std::string& raw_path) {
    if (auto it = entries_.find(raw_path); it != entries_.end()) forget(it);
}

std::optional<FileCache::Hit> FileCache::find(const std::shared_ptr<const void>& site,
                                              const std::string& raw_path, bool in_memory_only,
                                              const struct stat* seen, double now) {
    if (site != site_) {
        clear();
        return std::nullopt;
    }
    auto it = entries_.find(raw_path);
    if (it == entries_.end()) return std::nullopt;
    if (in_memory_only && !it->second.facts->content) return std::nullopt;
    Hit hit{it->second.facts, UniqueFd()};
    const FileFacts& facts = *hit.facts;
    struct stat st {};
    bool same = false;
    if (facts.content && seen != nullptr) {
        st = *seen;
        same = true;
    } else if (facts.content) {
        same = ::stat(facts.path.c_str(), &st) == 0;
    } else {
        // Checked on the descriptor that will send it, so a file replaced in between is
        // never sent under the old one's length and validators.
        hit.file = UniqueFd(::open(facts.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
        same = hit.file && ::fstat(hit.file.get(), &st) == 0;
    }
    if (!same || !S_ISREG(st.st_mode) || identity_of(st) != facts.identity) {
        forget(it);
        return std::nullopt;
    }
    it->second.checked = now;
    return hit;
}

std::optional<FileCache::Hit> FileCache::find_checked_since(const std::shared_ptr<const void>& site,
                                                            const std::string& raw_path,
                                                            double since) const {
    if (site != site_) return std::nullopt;
    auto it = entries_.find(raw_path);
    if (it == entries_.end() || !it->second.facts->content || it->second.checked < since)
        return std::nullopt;
    return Hit{it->second.facts, UniqueFd()};
}

void FileCache::remember(const std::shared_ptr<const void>& site, const std::string& raw_path,
                         std::shared_ptr<const FileFacts> facts, const timespec& now,
                         double checked) {
    const FileIdentity& identity = facts->identity;
    const int64_t changed = std::max(nanoseconds(identity.mtime_sec, identity.mtime_nsec),
                                     nanoseconds(identity.ctime_sec, identity.ctime_nsec));
    if (nanoseconds(now.tv_sec, now.tv_nsec) - changed < kSettleNanoseconds) return;
    if (site != site_) {
        clear();
        site_ = site;
    }
    if (auto it = entries_.find(raw_path); it != entries_.end()) forget(it);
    const uint64_t bytes = content_size(*facts);
    if (bytes > limits_.max_content_bytes || limits_.max_entries == 0) return;
    while (!oldest_.empty() && (entries_.size() >= limits_.max_entries ||
                                content_bytes_ + bytes > limits_.max_content_bytes)) {
        forget(entries_.find(oldest_.front()));
    }
    oldest_.push_back(raw_path);
    entries_.emplace(raw_path, Entry{std::move(facts), std::prev(oldest_.end()), checked});
    content_bytes_ += bytes;
}

void FileCache::forget(std::unordered_map<std::string, Entry>::iterator it) {
    content_bytes_ -= content_size(*it->second.facts);
    oldest_.erase(it->second.age);
    entries_.erase(it);
}

void FileCache::clear() {
    entries_.clear();
    oldest_.clear();
    content_bytes_ = 0;
    site_.reset();
}

}  // namespace cgihost
