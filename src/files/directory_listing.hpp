// The HTML index page shown for a directory that has no index file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cgihost {

struct DirectoryEntry {
    std::string name;  // a single path segment, as read from the directory
    bool is_directory = false;
    uint64_t size = 0;
    int64_t mtime_sec = 0;
};

// Renders an HTML5 page listing `entries`: directories first, then files, each sorted by name.
// `url_path` is the decoded request path; it must end in '/' (the caller redirects "/dir" to
// "/dir/" first) because the links are relative to it. Every entry is listed: hiding dotfiles
// is the caller's decision.
std::string render_directory_listing(std::string_view url_path,
                                     std::vector<DirectoryEntry> entries);

}  // namespace cgihost
