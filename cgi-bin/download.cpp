// download: lists the files `upload` stored in <data>/uploads/ and sends one back.
//
//   GET download               a page listing the files, linked and with their sizes
//   GET download?file=NAME     the file as an attachment
//
// Shows how a CGI program hands a client a file it did not make:
//   - NAME comes from the client, so anything that is not a plain name in that directory is
//     refused with 400 before it is used: '/', NUL, control characters, a leading dot ("..");
//   - only what `upload` stored there is ever sent or listed (issue 12): a name `upload` could
//     have given ([A-Za-z0-9._-], no leading dot) that its record, uploads/.stored, lists, of
//     a regular file that is not a symlink. A file that anyone else put into the directory is
//     not there for us, and is 404 like a missing one;
//   - the listing shows at most kMaxListed files;
//   - Content-Disposition carries the name twice (RFC 6266 §4.3): an ASCII `filename` for old
//     clients and `filename*=UTF-8''...` (RFC 8187) with the exact bytes for the rest;
//   - the file is streamed 64 KiB at a time with its Content-Length, never read whole; or, when
//     the server offers X-Sendfile (it sets CGIHOST_X_SENDFILE_ROOT) and the file lies inside
//     that root, the program answers with just the headers and `X-Sendfile: <path>` and the
//     server sends the file itself, with Range support, while this process exits at once.
#include <cgicc/Cgicc.h>
#include <cgicc/HTTPContentHeader.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "data_files.hpp"
#include "encoding.hpp"
#include "html.hpp"
#include "request.hpp"

namespace {

constexpr size_t kBlockSize = 64 * 1024;
constexpr size_t kMaxListed = 1000;    // files on the listing page; the quota's default, too
constexpr size_t kMaxNameBytes = 100;  // the longest name upload stores

using samples::RequestError;

bool has_control_character(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; });
}

// A NAME that can only mean a file directly inside the uploads directory, and one `upload`
// could have stored: no path separator, no NUL or other control character (which could also
// break a header line), no leading dot (hidden files, "." and "..").
void check_file_name(const std::string& name) {
    if (name.empty() || name.find('/') != std::string::npos || has_control_character(name) ||
        name.front() == '.') {
        throw RequestError(400, "Bad Request", "That is not the name of an uploaded file.");
    }
}

// A name that upload's sanitize_file_name could have produced.
bool is_stored_name(std::string_view name) {
    auto is_safe = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    };
    return !name.empty() && name.size() <= kMaxNameBytes && name.front() != '.' &&
           std::all_of(name.begin(), name.end(), is_safe);
}

// The names upload's record lists: one a line in uploads/.stored, which upload replaces whole
// (rename(2)) under its lock, so a reader sees one version or the next, never a mix.
std::set<std::string> stored_names() {
    std::ifstream record(samples::data_directory() / "uploads" / ".stored");
    std::set<std::string> names;
    for (std::string line; std::getline(record, line);) {
        if (is_stored_name(line)) names.insert(line);
    }
    return names;
}

// RFC 6266 §4.1 quoted-string for the `filename` parameter: printable ASCII only, with '"' and
// '\' escaped; every other byte becomes '_'. filename* carries the real name.
std::string ascii_fallback(std::string_view name) {
    std::string quoted;
    for (char c : name) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte >= 0x7F) {
            // One '_' per UTF-8 sequence: skip its continuation bytes.
            if ((byte & 0xC0) != 0x80) quoted += '_';
            continue;
        }
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
    }
    return quoted;
}

// RFC 8187 §3.2.1 (RFC 5987's successor): attr-char stays, every other byte is %XX.
std::string ext_value(std::string_view name) {
    static constexpr std::string_view kAttrChars = "!#$&+-.^_`|~";
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string encoded = "UTF-8''";
    for (char c : name) {
        auto byte = static_cast<unsigned char>(c);
        bool alphanumeric =
            (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (alphanumeric || kAttrChars.find(c) != std::string_view::npos) {
            encoded += c;
        } else {
            encoded += '%';
            encoded += kHex[byte >> 4];
            encoded += kHex[byte & 0xF];
        }
    }
    return encoded;
}

std::string content_disposition(std::string_view name) {
    return "attachment; filename=\"" + ascii_fallback(name) + "\"; filename*=" + ext_value(name);
}

// The canonical path of `path` when the server will send it for us: X-Sendfile is on and the
// file lies under its root (which the server already resolved). Empty otherwise.
std::string x_sendfile_path(const std::filesystem::path& path) {
    const char* root = std::getenv("CGIHOST_X_SENDFILE_ROOT");
    if (root == nullptr || *root == '\0') return "";
    std::error_code error;
    std::string resolved = std::filesystem::canonical(path, error).string();
    std::string prefix = std::string(root) + (std::string_view(root).ends_with('/') ? "" : "/");
    if (error || !resolved.starts_with(prefix) || has_control_character(resolved)) return "";
    return resolved;
}

void stream_file(int fd, uint64_t size) {
    std::vector<char> block(kBlockSize);
    while (size > 0) {
        ssize_t n = ::read(fd, block.data(), std::min<uint64_t>(size, block.size()));
        if (n < 0 && errno == EINTR) continue;
        // A file that shrank under us: stop short, and the server, seeing fewer bytes than the
        // Content-Length promised, closes the connection rather than let the client wait.
        if (n <= 0) return;
        if (!samples::write_all(STDOUT_FILENO, std::string_view(block.data(), n))) return;
        size -= static_cast<uint64_t>(n);
    }
}

void send_file(const std::string& name) {
    check_file_name(name);
    std::filesystem::path path = samples::data_directory() / "uploads" / name;
    // O_NOFOLLOW: `upload` never makes symlinks, so one here was put there to lead elsewhere.
    samples::FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat info {};
    if (!fd) {
        if (errno == ENOENT || errno == ENOTDIR) {
            throw RequestError(404, "Not Found", "There is no uploaded file with that name.");
        }
        throw RequestError(403, "Forbidden", "That file cannot be sent.");
    }
    if (!stored_names().contains(name) || ::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
        throw RequestError(404, "Not Found", "There is no uploaded file with that name.");
    }
    std::cout << "Content-Type: application/octet-stream\n"
              << "Content-Disposition: " << content_disposition(name) << '\n'
              << "X-Content-Type-Options: nosniff\n";
    if (std::string server_path = x_sendfile_path(path); !server_path.empty()) {
        // The server reads these headers, then sends the file and stops us: no body here.
        std::cout << "X-Sendfile: " << server_path << "\n\n" << std::flush;
        return;
    }
    std::cout << "Content-Length: " << info.st_size << "\n\n" << std::flush;
    const char* method = std::getenv("REQUEST_METHOD");
    if (method != nullptr && std::strcmp(method, "HEAD") == 0) return;
    stream_file(fd.get(), static_cast<uint64_t>(info.st_size));
}

struct Listed {
    std::string name;
    uint64_t size = 0;
};

// The files upload stored in uploads/, by name.
std::vector<Listed> list_uploads() {
    std::vector<Listed> files;
    const std::filesystem::path directory = samples::data_directory() / "uploads";
    for (const std::string& name : stored_names()) {  // a std::set: sorted
        struct stat info {};
        // lstat: a symlink here was not made by upload, and send_file refuses it too.
        if (::lstat((directory / name).c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
            files.push_back({name, static_cast<uint64_t>(info.st_size)});
        }
    }
    return files;
}

void send_listing() {
    std::vector<Listed> files = list_uploads();
    std::cout << cgicc::HTTPContentHeader(samples::kHtmlContentType);
    samples::page_start("Uploaded files");
    if (files.empty()) {
        std::cout << "<p>Nothing has been uploaded yet.</p>\n";
    } else {
        std::cout << "<table>\n<tr><th>Name</th><th>Size (bytes)</th></tr>\n";
        const size_t shown = std::min(files.size(), kMaxListed);
        for (const Listed& file : std::span(files).first(shown)) {
            std::cout << "<tr class=\"file\"><td><a href=\"download?file="
                      << samples::percent_encode(file.name) << "\">"
                      << samples::escape_html(file.name) << "</a></td><td>" << file.size
                      << "</td></tr>\n";
        }
        std::cout << "</table>\n";
        if (shown < files.size()) {
            std::cout << "<p class=\"note\">" << files.size() - shown
                      << " more files are not listed.</p>\n";
        }
    }
    std::cout << "<p><a href=\"/upload.html\">Upload a file</a></p>\n";
    samples::page_end();
}

}  // namespace

int main() {
    try {
        samples::require_method({"GET", "HEAD"});
        cgicc::Cgicc form;
        if (auto file = form.getElement("file"); file != form.getElements().end()) {
            send_file(file->getValue());
        } else {
            send_listing();
        }
    } catch (const RequestError& error) {
        samples::send_error_page(error);
    } catch (const std::exception& error) {
        std::cerr << "download: " << error.what() << '\n';
        samples::send_error_page(500, "Internal Server Error", "The file could not be sent.");
    }
}
