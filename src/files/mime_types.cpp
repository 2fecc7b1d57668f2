#include "files/mime_types.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <utility>
#include <vector>

#include "util/unique_fd.hpp"

namespace cgihost {
namespace {

constexpr std::string_view kDefaultType = "application/octet-stream";

// JavaScript is text/javascript since RFC 9239 §6; fonts use the font/ tree of RFC 8081.
constexpr std::pair<std::string_view, std::string_view> kBuiltinTypes[] = {
    {"7z", "application/x-7z-compressed"},
    {"atom", "application/atom+xml"},
    {"avif", "image/avif"},
    {"bmp", "image/bmp"},
    {"bz2", "application/x-bzip2"},
    {"css", "text/css"},
    {"csv", "text/csv"},
    {"flac", "audio/flac"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"ico", "image/vnd.microsoft.icon"},
    {"ics", "text/calendar"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript"},
    {"json", "application/json"},
    {"jsonld", "application/ld+json"},
    {"m4a", "audio/mp4"},
    {"md", "text/markdown"},
    {"mjs", "text/javascript"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"opus", "audio/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"rss", "application/rss+xml"},
    {"rtf", "application/rtf"},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"tgz", "application/gzip"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain"},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xhtml", "application/xhtml+xml"},
    {"xml", "application/xml"},
    {"xz", "application/x-xz"},
    {"yaml", "application/yaml"},
    {"zip", "application/zip"},
};

std::string to_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

// Types whose bytes are text. We declare UTF-8 so browsers do not guess the encoding from the
// content (RFC 9110 §8.3.2); +xml and +json are the structured-syntax suffixes of RFC 6839.
bool is_text_like(std::string_view type) {
    return type.starts_with("text/") || type == "application/javascript" ||
           type == "application/json" || type == "application/xml" || type.ends_with("+xml") ||
           type.ends_with("+json");
}

// The extension after the last '.' of the base name; empty when there is none. A leading dot
// marks a hidden file (".bashrc"), not an extension.
std::string_view extension_of(std::string_view file_name) {
    size_t slash = file_name.rfind('/');
    std::string_view base =
        slash == std::string_view::npos ? file_name : file_name.substr(slash + 1);
    size_t dot = base.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return {};
    return base.substr(dot + 1);
}

// Splits one line of a mime.types file into whitespace-separated words, dropping any comment.
std::vector<std::string_view> split_words(std::string_view line) {
    line = line.substr(0, line.find('#'));
    std::vector<std::string_view> words;
    size_t pos = 0;
    while (pos < line.size()) {
        size_t start = line.find_first_not_of(" \t\r\f\v", pos);
        if (start == std::string_view::npos) break;
        size_t end = line.find_first_of(" \t\r\f\v", start);
        if (end == std::string_view::npos) end = line.size();
        words.push_back(line.substr(start, end - start));
        pos = end;
    }
    return words;
}

// Reads a whole file, or nullopt on any error. We use read(2) rather than iostreams so that a
// directory (EISDIR) or an I/O error is reported instead of looking like an empty file.
std::optional<std::string> read_whole_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    std::string text;
    char buffer[8192];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n == 0) return text;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::nullopt;
        text.append(buffer, static_cast<size_t>(n));
    }
}

}  // namespace

MimeTypes MimeTypes::with_builtin_defaults() {
    MimeTypes types;
    for (const auto& [extension, type] : kBuiltinTypes) {
        types.type_by_extension_.insert_or_assign(std::string(extension), std::string(type));
    }
    return types;
}

void MimeTypes::load_mime_types_text(std::string_view text) {
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::vector<std::string_view> words = split_words(text.substr(pos, end - pos));
        pos = end + 1;
        // A media type always has a '/' (RFC 9110 §8.3.1); anything else is not an entry.
        if (words.empty() || words[0].find('/') == std::string_view::npos) continue;
        std::string type = to_lower(words[0]);
        for (size_t i = 1; i < words.size(); ++i) {
            type_by_extension_.insert_or_assign(to_lower(words[i]), type);
        }
    }
}

bool MimeTypes::load_file(const std::string& path) {
    std::optional<std::string> text = read_whole_file(path);
    if (!text) return false;
    load_mime_types_text(*text);
    return true;
}

std::string MimeTypes::content_type_for(std::string_view file_name) const {
    std::string_view extension = extension_of(file_name);
    if (extension.empty()) return std::string(kDefaultType);
    auto found = type_by_extension_.find(to_lower(extension));
    if (found == type_by_extension_.end()) return std::string(kDefaultType);
    const std::string& type = found->second;
    if (is_text_like(type)) return type + "; charset=utf-8";
    return type;
}

}  // namespace cgihost
