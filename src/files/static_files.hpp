// Answers requests whose target resolved to the document tree: files (with validators,
// conditional requests and byte ranges), directories, and the redirect to a directory's slash.
#pragma once

#include <sys/stat.h>

#include <memory>

#include "files/file_cache.hpp"
#include "files/mime_types.hpp"
#include "files/target_resolver.hpp"
#include "http/http_message.hpp"

namespace cgihost {

struct StaticFileOptions {
    bool directory_listing = false;
};

// A file up to this size is read whole into its FileFacts and sent from memory, in the same
// write as the head (one segment, one system call); a larger one is sent with sendfile(2).
constexpr uint64_t kFileContentBytes = uint64_t{64} * 1024;

// Turns any non-CGI Target into a response: 200/206/304/412/416 for files, a listing or
// 403 for directories, 301 to the slash form, and the error statuses. When a regular file
// was served, `served` (if given) receives its facts, for the FileCache.
Response serve_static_target(const Request& request, const Target& target,
                             const MimeTypes& mime_types, const StaticFileOptions& options,
                             std::shared_ptr<const FileFacts>* served = nullptr);

// GET/HEAD of one regular file: validators, conditional requests (304/412) and a single
// byte range (206/416). Also used for a script's X-Sendfile.
Response serve_regular_file(const Request& request, const std::string& path,
                            const MimeTypes& mime_types,
                            std::shared_ptr<const FileFacts>* served = nullptr);

// The facts of the regular file open as `fd` (fstat'ed into `st`), its bytes read when at
// most kFileContentBytes; nullptr when reading it fails.
std::shared_ptr<const FileFacts> gather_file_facts(int fd, const struct stat& st, std::string path,
                                                   const MimeTypes& mime_types);

// The answer to a GET/HEAD of a file whose facts are known: `file` is open on it unless
// facts.content holds its bytes.
Response respond_with_file(const Request& request, const std::shared_ptr<const FileFacts>& facts,
                           UniqueFd file);

// "/a b/c" → "/a%20b/c": a decoded URL path re-encoded segment by segment, safe for Location.
std::string encode_url_path(std::string_view decoded_path);

}  // namespace cgihost
