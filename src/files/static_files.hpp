// Answers requests whose target resolved to the document tree: files (with validators,
// conditional requests and byte ranges), directories, and the redirect to a directory's slash.
#pragma once

#include "files/mime_types.hpp"
#include "files/target_resolver.hpp"
#include "http/http_message.hpp"

namespace cgihost {

struct StaticFileOptions {
    bool directory_listing = false;
};

// Turns any non-CGI Target into a response: 200/206/304/412/416 for files, a listing or
// 403 for directories, 301 to the slash form, and the error statuses.
Response serve_static_target(const Request& request, const Target& target,
                             const MimeTypes& mime_types, const StaticFileOptions& options);

// GET/HEAD of one regular file: validators, conditional requests (304/412) and a single
// byte range (206/416). Also used for a script's X-Sendfile.
Response serve_regular_file(const Request& request, const std::string& path,
                            const MimeTypes& mime_types);

// "/a b/c" → "/a%20b/c": a decoded URL path re-encoded segment by segment, safe for Location.
std::string encode_url_path(std::string_view decoded_path);

}  // namespace cgihost
