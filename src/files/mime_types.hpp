// Maps a file name to the Content-Type we send for it (RFC 9110 §8.3).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

namespace cgihost {

// A table from lower-case file extension to media type. Built once at startup, then only read,
// so one instance can be shared by every thread.
class MimeTypes {
  public:
    // An empty table: every lookup answers application/octet-stream.
    MimeTypes() = default;

    // The types a small static site needs, so the server works without /etc/mime.types.
    static MimeTypes with_builtin_defaults();

    // Adds the entries of a text in the /etc/mime.types format ("type ext1 ext2 ...", '#' starts
    // a comment). An extension listed again replaces the earlier type, so a loaded file overrides
    // the builtins and, within one file, the last line wins.
    void load_mime_types_text(std::string_view text);

    // Loads a mime.types file. Returns false, leaving the table unchanged, if it cannot be read.
    bool load_file(const std::string& path);

    // The Content-Type for a file name or path: looked up by the extension after the last '.'
    // of the base name, ignoring case. Text-like types get "; charset=utf-8".
    std::string content_type_for(std::string_view file_name) const;

  private:
    std::unordered_map<std::string, std::string> type_by_extension_;
};

}  // namespace cgihost
