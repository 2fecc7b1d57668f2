// Target resolution: turns the path of a request target into what the server should do with it
// (serve a file, list a directory, redirect, run a CGI script, or refuse). Touches the filesystem
// (realpath, stat, access) but nothing else, so it is unit-tested against a temporary tree.
#pragma once

#include <sys/stat.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cgihost {

struct ResolverConfig {
    // Absolute, already realpath()'d, no trailing slash ("/" itself is allowed).
    std::string docroot;
    // URL prefix of the CGI directory, e.g. "/cgi-bin", no trailing slash; matched on a segment
    // boundary ("/cgi-binx" is not under it). Empty = no CGI directory.
    std::string cgi_url_prefix;
    // Absolute, realpath()'d directory holding the scripts; may lie inside or outside docroot.
    // Empty = no CGI directory.
    std::string cgi_dir;
    // Tried in order when a directory is requested with a trailing '/'.
    std::vector<std::string> index_files{"index.html"};
    // false = any URL segment starting with '.' (.git, .env, .htpasswd) is not_found.
    bool serve_dotfiles = false;
    // false = a static file whose realpath() leaves docroot is forbidden (and, unless
    // cgi_follow_symlinks, a script whose realpath() leaves cgi_dir).
    bool follow_symlinks_outside = false;
    // true = a symlink in cgi_dir may name an executable anywhere: the CGI directory is the
    // administrator's, and git's documentation deploys git-http-backend as such a link.
    bool cgi_follow_symlinks = true;
    // Extension (with the dot, matched case-insensitively) -> interpreter for scripts living in
    // docroot: ".cgi" -> "" runs the file itself, ".py" -> "/usr/bin/python3". Empty = off.
    std::map<std::string, std::string> cgi_extension_handlers;
};

enum class TargetKind {
    static_file,        // send file_path
    directory_listing,  // file_path is a directory without an index; caller picks listing or 403
    redirect_to_slash,  // a directory asked for without '/': caller appends '/' keeping the query
    cgi_script,         // run file_path (through interpreter when it is not empty)
    not_found,          // 404
    forbidden,          // 403
    bad_request,        // 400: undecodable or unsafe path, or a name too long for the filesystem
};

struct Target {
    TargetKind kind = TargetKind::not_found;
    std::string file_path;     // realpath() of the file, directory or script; "" for errors
    std::string url_path;      // normalised, decoded URL path; "" when it could not be normalised
    std::string script_name;   // cgi_script: URL path of the script (RFC 3875 §4.1.13)
    std::string path_info;     // cgi_script: decoded rest after the script (RFC 3875 §4.1.5)
    std::string interpreter;   // cgi_script via an extension handler; "" = exec file_path itself
    int error_number = 0;      // errno behind not_found/forbidden/bad_request; 0 = a policy rule
    struct stat file_info {};  // static_file: the file's stat() as the walk found it
};

// Pure (no filesystem). Percent-decodes each segment once and rejects (nullopt) a path that does
// not start with '/', an invalid escape, and a decoded NUL, '\' or '/' inside a segment. Collapses
// empty segments, drops ".", resolves ".." (nullopt if it would rise above "/"). The result ends
// in '/' when the input did or when its last segment was "." or "..".
std::optional<std::string> normalize_url_path(std::string_view raw_path);

// raw_path is the still percent-encoded path of the request target, without query or fragment.
// A path equal to cgi_url_prefix or under it on a segment boundary is a CGI request: the longest
// run of segments naming an executable regular file in cgi_dir is the script, the rest PATH_INFO
// (RFC 3875 §3.2); directories (the prefix itself included) are forbidden, hidden names are
// not_found. Anything else is looked up under docroot; there a script claimed by an extension
// handler may be followed by PATH_INFO too ("/app/index.php/route"), found by the same forward
// walk, while a static file followed by more path is not_found. A static file's realpath() must
// lie inside docroot unless follow_symlinks_outside, a script's inside cgi_dir unless
// cgi_follow_symlinks (or follow_symlinks_outside), and a static request never reaches cgi_dir.
// `check_readable` false skips the access() check of a static file (never of a script): only
// for a caller that then requires file_info to match a version of the file that passed it.
Target resolve_target(const ResolverConfig& config, std::string_view raw_path,
                      bool check_readable = true);

}  // namespace cgihost
