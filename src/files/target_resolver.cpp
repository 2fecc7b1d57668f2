#include "files/target_resolver.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>

#include "http/url_codec.hpp"

namespace cgihost {
namespace {

// ---- URL normalisation (pure) ----

// RFC 3986 §7.3: split into segments before decoding, so that a decoded octet is never mistaken
// for a delimiter, and reject %00. We go further and refuse a decoded '/' (%2F) rather than keep
// it inside a segment, where it would name two directories once handed to the filesystem, and
// '\', a separator to some tools. RFC 3986 §2.4: decode exactly once, so "%252e" stays "%2e".
std::optional<std::string> decode_segment(std::string_view raw_segment) {
    auto segment = percent_decode(raw_segment);
    if (!segment) return std::nullopt;
    if (segment->find_first_of(std::string_view("\0/\\", 3)) != std::string::npos) {
        return std::nullopt;
    }
    return segment;
}

std::string join_segments(const std::vector<std::string>& segments, bool ends_with_slash) {
    std::string path = "/";
    for (size_t i = 0; i < segments.size(); ++i) {
        if (i > 0) path += '/';
        path += segments[i];
    }
    if (ends_with_slash && !segments.empty()) path += '/';
    return path;
}

// ---- Filesystem helpers ----

struct FreeDeleter {
    void operator()(char* memory) const { std::free(memory); }
};

// What the filesystem says about one path, after every symlink in it has been resolved.
struct Probe {
    std::string canonical;
    struct stat info {};
    int error_number = 0;

    bool ok() const { return error_number == 0; }
};

Probe probe_path(const std::string& path) {
    Probe probe;
    std::unique_ptr<char, FreeDeleter> resolved(::realpath(path.c_str(), nullptr));
    if (!resolved) {
        probe.error_number = errno;
        return probe;
    }
    probe.canonical = resolved.get();
    if (::stat(probe.canonical.c_str(), &probe.info) != 0) probe.error_number = errno;
    return probe;
}

// realpath() asks the kernel about every component of a path, the root's own included. Below a
// root that is already canonical, a relative path of plain segments ("/a/b", no "." or "..")
// naming no symlink is its own canonical form, which one lstat() per segment proves. Any other
// case — a symlink, an error, a file where a directory was asked for — goes through realpath(),
// so the result and the errno are exactly those of probe_path(root + relative).
Probe probe_below(const std::string& canonical_root, std::string_view relative) {
    auto fall_back = [&] { return probe_path(canonical_root + std::string(relative)); };
    Probe probe;
    probe.canonical = canonical_root == "/" ? "" : canonical_root;
    size_t start = 0;
    while (start < relative.size()) {
        if (relative[start] != '/') return fall_back();
        size_t end = std::min(relative.find('/', start + 1), relative.size());
        std::string_view segment = relative.substr(start + 1, end - start - 1);
        if (segment.empty() && end == relative.size()) break;  // the trailing '/' of a directory
        if (segment.empty() || segment == "." || segment == "..") return fall_back();
        probe.canonical += '/';
        probe.canonical += segment;
        if (::lstat(probe.canonical.c_str(), &probe.info) != 0 || S_ISLNK(probe.info.st_mode)) {
            return fall_back();
        }
        start = end;
    }
    if (probe.canonical.empty()) probe.canonical += '/';  // the root was "/" itself
    if (start == 0 && ::lstat(probe.canonical.c_str(), &probe.info) != 0) return fall_back();
    if (relative.ends_with('/') && !S_ISDIR(probe.info.st_mode)) return fall_back();  // ENOTDIR
    return probe;
}

// Uses the effective ids (AT_EACCESS), which are the ones open() and execve() will be judged by.
int check_access(const std::string& path, int mode) {
    if (::faccessat(AT_FDCWD, path.c_str(), mode, AT_EACCESS) == 0) return 0;
    return errno;
}

// Compares against dir + "/" rather than a bare prefix: "/srv/www2" is not inside "/srv/www".
bool is_same_or_inside(std::string_view path, std::string_view dir) {
    if (!path.starts_with(dir)) return false;
    return path.size() == dir.size() || dir.ends_with('/') || path[dir.size()] == '/';
}

// The path is normalised, so "/." can only start a hidden name, never a "." or ".." segment.
bool has_dot_segment(std::string_view url_path) {
    return url_path.find("/.") != std::string_view::npos;
}

char to_lower_ascii(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (to_lower_ascii(a[i]) != to_lower_ascii(b[i])) return false;
    }
    return true;
}

// The extension is taken from the realpath()'d name, not the requested one, so a symlink
// "show.txt -> app.cgi" runs the script instead of disclosing its source. Matching ignores case
// so "APP.CGI" is not served as text either.
std::optional<std::string> find_interpreter(const ResolverConfig& config, std::string_view path) {
    std::string_view name = path.substr(path.rfind('/') + 1);
    size_t dot = name.rfind('.');
    if (dot == std::string_view::npos) return std::nullopt;
    std::string_view extension = name.substr(dot);
    for (const auto& [handled, interpreter] : config.cgi_extension_handlers) {
        if (equals_ignoring_case(extension, handled)) return interpreter;
    }
    return std::nullopt;
}

// ---- Building results ----

Target make_target(TargetKind kind, std::string_view url_path, int error_number = 0) {
    Target target;
    target.kind = kind;
    target.url_path = url_path;
    target.error_number = error_number;
    return target;
}

// One mapping from errno to outcome, in the spirit of nginx's static module. ENAMETOOLONG means a
// segment longer than NAME_MAX or a path longer than PATH_MAX: the client sent a name no file can
// have, so it is a bad request rather than a missing file.
Target make_errno_target(std::string_view url_path, int error_number) {
    switch (error_number) {
        case ENOENT:
        case ENOTDIR:
            return make_target(TargetKind::not_found, url_path, error_number);
        case ENAMETOOLONG:
            return make_target(TargetKind::bad_request, url_path, error_number);
        default:  // EACCES, ELOOP and anything unexpected: refuse rather than guess.
            return make_target(TargetKind::forbidden, url_path, error_number);
    }
}

Target make_file_target(TargetKind kind, std::string_view url_path, std::string file_path) {
    Target target = make_target(kind, url_path);
    target.file_path = std::move(file_path);
    return target;
}

// ---- Static requests ----

// Layer 2 of path safety: whatever the URL said, the file that will be opened must lie inside
// docroot, and never inside cgi_dir, whose files are programs whose source must not be served.
bool is_static_location_allowed(const ResolverConfig& config, std::string_view canonical) {
    if (!config.cgi_dir.empty() && is_same_or_inside(canonical, config.cgi_dir)) return false;
    return config.follow_symlinks_outside || is_same_or_inside(canonical, config.docroot);
}

// A regular file found under docroot: static, or a script when an extension handler claims it.
// A script reached this way has no PATH_INFO: the whole URL path names it.
// `check_readable` false leaves out the access() check of a static file, for a caller that
// compares the file_info it gets with a version of the file that passed it (a chmod or chown
// changes st_ctime).
Target resolve_regular_file(const ResolverConfig& config, std::string_view url_path,
                            std::string_view script_name, const Probe& probe,
                            bool check_readable = true) {
    if (!S_ISREG(probe.info.st_mode)) return make_target(TargetKind::forbidden, url_path);
    auto interpreter = find_interpreter(config, probe.canonical);
    // Run directly = needs exec permission; through an interpreter = only read permission.
    int mode = (interpreter && interpreter->empty()) ? X_OK : R_OK;
    if (int error = (interpreter || check_readable) ? check_access(probe.canonical, mode) : 0) {
        return make_target(TargetKind::forbidden, url_path, error);
    }
    if (!interpreter) {
        Target target = make_file_target(TargetKind::static_file, url_path, probe.canonical);
        target.file_info = probe.info;
        return target;
    }
    Target target = make_file_target(TargetKind::cgi_script, url_path, probe.canonical);
    target.script_name = script_name;
    target.interpreter = *interpreter;
    return target;
}

Target resolve_directory(const ResolverConfig& config, std::string_view url_path,
                         const std::string& directory, bool check_readable) {
    // Relative links inside an index page only work when the URL ends in '/'.
    if (!url_path.ends_with('/')) {
        return make_file_target(TargetKind::redirect_to_slash, url_path, directory);
    }
    for (const auto& index_name : config.index_files) {
        Probe probe = probe_below(directory, "/" + index_name);
        if (probe.error_number == ENOENT) continue;
        // The first index that exists decides, even when it cannot be served: falling through
        // to a listing would reveal what the index was meant to hide.
        if (!probe.ok()) return make_errno_target(url_path, probe.error_number);
        if (!is_static_location_allowed(config, probe.canonical)) {
            return make_target(TargetKind::forbidden, url_path);
        }
        std::string script_name = std::string(url_path) + index_name;
        return resolve_regular_file(config, url_path, script_name, probe, check_readable);
    }
    if (int error = check_access(directory, R_OK | X_OK)) {
        return make_target(TargetKind::forbidden, url_path, error);
    }
    return make_file_target(TargetKind::directory_listing, url_path, directory);
}

// "/app/index.php/route": the whole path met a file where a directory was needed (ENOTDIR).
// RFC 3875 §3.2, as under the CGI directory: walk forward one segment at a time, each probed
// below the canonical directory reached so far (so the walk costs one lstat per segment, however
// deep the symlinks), and stop at the first segment that is not a directory. That file is the
// longest possible script name; when an extension handler claims it, the rest is PATH_INFO.
// Anything else followed by more path (a static file, say) stays not_found, as in Apache.
Target resolve_handler_with_path_info(const ResolverConfig& config, const std::string& url_path) {
    std::string directory = config.docroot;
    size_t start = 0;
    while (start + 1 < url_path.size()) {
        size_t end = std::min(url_path.find('/', start + 1), url_path.size());
        std::string_view segment = std::string_view(url_path).substr(start + 1, end - start - 1);
        if (!config.serve_dotfiles && segment.front() == '.') {
            return make_target(TargetKind::not_found, url_path);
        }
        Probe probe = probe_below(directory, "/" + std::string(segment));
        if (!probe.ok()) return make_errno_target(url_path, probe.error_number);
        if (S_ISDIR(probe.info.st_mode)) {
            directory = std::move(probe.canonical);
            start = end;
            continue;
        }
        if (!is_static_location_allowed(config, probe.canonical)) {
            return make_target(TargetKind::forbidden, url_path);
        }
        if (!find_interpreter(config, probe.canonical)) {
            return make_target(TargetKind::not_found, url_path, ENOTDIR);
        }
        std::string_view script_name = std::string_view(url_path).substr(0, end);
        Target target = resolve_regular_file(config, url_path, script_name, probe);
        // RFC 3875 §4.1.5: PATH_INFO is the decoded part of the path after the script's name.
        if (target.kind == TargetKind::cgi_script) target.path_info = url_path.substr(end);
        return target;
    }
    return make_target(TargetKind::not_found, url_path, ENOTDIR);
}

Target resolve_static(const ResolverConfig& config, const std::string& url_path,
                      bool check_readable) {
    const bool handlers = !config.cgi_extension_handlers.empty();
    if (!config.serve_dotfiles && has_dot_segment(url_path)) {
        // Only the PATH_INFO after a handler script may hold a hidden name: the walk stops at
        // a hidden segment that comes first.
        if (handlers) return resolve_handler_with_path_info(config, url_path);
        return make_target(TargetKind::not_found, url_path);
    }
    // Keeping a trailing '/' in the path makes the kernel answer ENOTDIR for "/file.txt/".
    Probe probe = probe_below(config.docroot, url_path);
    if (probe.error_number == ENOTDIR && handlers) {
        return resolve_handler_with_path_info(config, url_path);
    }
    if (!probe.ok()) return make_errno_target(url_path, probe.error_number);
    if (!is_static_location_allowed(config, probe.canonical)) {
        return make_target(TargetKind::forbidden, url_path);
    }
    if (S_ISDIR(probe.info.st_mode)) {
        return resolve_directory(config, url_path, probe.canonical, check_readable);
    }
    return resolve_regular_file(config, url_path, url_path, probe, check_readable);
}

// ---- CGI requests ----

bool is_cgi_request(const ResolverConfig& config, std::string_view url_path) {
    const std::string& prefix = config.cgi_url_prefix;
    if (prefix.empty() || config.cgi_dir.empty() || !url_path.starts_with(prefix)) return false;
    return url_path.size() == prefix.size() || url_path[prefix.size()] == '/';
}

// The script's file has been found; check what it really is before running it. A script
// named by a symlink (`script_is_link`) that the walk reached without leaving cgi_dir may lie
// anywhere with cgi_follow_symlinks; a directory link that leads out does not open the
// programs beyond it ("cgi-bin/tools -> /usr/bin" would run /usr/bin/sh).
Target finish_cgi(const ResolverConfig& config, std::string_view url_path,
                  std::string_view script_name, const Probe& probe, bool script_is_link) {
    if (!probe.ok()) return make_errno_target(url_path, probe.error_number);
    bool allowed = (config.cgi_follow_symlinks && script_is_link) ||
                   config.follow_symlinks_outside ||
                   is_same_or_inside(probe.canonical, config.cgi_dir);
    if (!allowed || !S_ISREG(probe.info.st_mode)) {
        return make_target(TargetKind::forbidden, url_path);
    }
    if (int error = check_access(probe.canonical, X_OK)) {
        return make_target(TargetKind::forbidden, url_path, error);
    }
    Target target = make_file_target(TargetKind::cgi_script, url_path, probe.canonical);
    target.script_name = script_name;
    // RFC 3875 §4.1.5: PATH_INFO is the decoded part of the path after the script's name.
    target.path_info = url_path.substr(script_name.size());
    return target;
}

// RFC 3875 §3.2: the script is the leading run of segments that names a file; the rest is
// PATH_INFO. Walking forward, the first regular file is also the longest possible match, because
// nothing can lie beneath a regular file. A run that ends on a directory is never listed.
Target resolve_cgi(const ResolverConfig& config, const std::string& url_path) {
    std::string_view rest = std::string_view(url_path).substr(config.cgi_url_prefix.size());
    // cgi_dir is canonical, so until a symlink turns up, disk_path is canonical too (see
    // probe_below) and lstat() tells us all that stat() and realpath() would.
    Probe probe;
    probe.canonical = config.cgi_dir;
    bool saw_symlink = false;   // some segment so far was a symlink (to a directory, or the last)
    bool left_cgi_dir = false;  // a directory symlink led outside cgi_dir
    size_t start = 0;
    while (start + 1 < rest.size()) {  // rest is "/seg/seg..." with at most a trailing "/"
        size_t end = std::min(rest.find('/', start + 1), rest.size());
        std::string_view segment = rest.substr(start + 1, end - start - 1);
        // Hidden files are never scripts, whatever serve_dotfiles says about static files.
        if (segment.front() == '.') return make_target(TargetKind::not_found, url_path);
        probe.canonical += '/';
        probe.canonical += segment;
        if (::lstat(probe.canonical.c_str(), &probe.info) != 0) {
            return make_errno_target(url_path, errno);
        }
        const bool is_link = S_ISLNK(probe.info.st_mode);
        if (is_link) {
            saw_symlink = true;
            if (::stat(probe.canonical.c_str(), &probe.info) != 0) {
                return make_errno_target(url_path, errno);
            }
        }
        if (!S_ISDIR(probe.info.st_mode)) {
            std::string_view script_name(url_path.data(), config.cgi_url_prefix.size() + end);
            return finish_cgi(config, url_path, script_name,
                              saw_symlink ? probe_path(probe.canonical) : probe,
                              is_link && !left_cgi_dir);
        }
        if (is_link) {
            Probe directory = probe_path(probe.canonical);
            if (!directory.ok()) return make_errno_target(url_path, directory.error_number);
            left_cgi_dir = left_cgi_dir || !is_same_or_inside(directory.canonical, config.cgi_dir);
        }
        start = end;
    }
    return make_target(TargetKind::forbidden, url_path);
}

}  // namespace

std::optional<std::string> normalize_url_path(std::string_view raw_path) {
    if (!raw_path.starts_with('/')) return std::nullopt;
    std::vector<std::string> segments;
    bool ends_with_slash = false;
    size_t start = 1;
    while (start <= raw_path.size()) {
        size_t end = std::min(raw_path.find('/', start), raw_path.size());
        auto segment = decode_segment(raw_path.substr(start, end - start));
        if (!segment) return std::nullopt;
        start = end + 1;
        // RFC 3986 §5.2.4: a final "." or ".." leaves the path ending in '/', like an empty one.
        ends_with_slash = segment->empty() || *segment == "." || *segment == "..";
        if (*segment == "..") {
            if (segments.empty()) return std::nullopt;  // would rise above the root
            segments.pop_back();
        } else if (!ends_with_slash) {
            segments.push_back(std::move(*segment));
        }
    }
    return join_segments(segments, ends_with_slash);
}

Target resolve_target(const ResolverConfig& config, std::string_view raw_path,
                      bool check_readable) {
    auto url_path = normalize_url_path(raw_path);
    if (!url_path) return make_target(TargetKind::bad_request, "");
    if (is_cgi_request(config, *url_path)) return resolve_cgi(config, *url_path);
    return resolve_static(config, *url_path, check_readable);
}

}  // namespace cgihost
