#include "files/directory_listing.hpp"

#include <algorithm>
#include <array>

#include "http/html_escape.hpp"
#include "http/http_conditional.hpp"
#include "http/url_codec.hpp"

namespace cgihost {
namespace {

constexpr std::string_view kPageStart = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Index of {path}</title>
<style>td.size { text-align: right; } td { padding: 0 1em 0 0; }</style>
</head>
<body>
<h1>Index of {path}</h1>
<table>
<thead><tr><th>Name</th><th>Size</th><th>Last modified</th></tr></thead>
<tbody>
)";

constexpr std::string_view kPageEnd = R"(</tbody>
</table>
</body>
</html>
)";

// Replaces every "{path}" in `page` with `path`.
std::string fill_path(std::string_view page, std::string_view path) {
    constexpr std::string_view kPlaceholder = "{path}";
    std::string out;
    size_t pos = 0;
    for (size_t found; (found = page.find(kPlaceholder, pos)) != std::string_view::npos;) {
        out.append(page.substr(pos, found - pos));
        out.append(path);
        pos = found + kPlaceholder.size();
    }
    out.append(page.substr(pos));
    return out;
}

// Binary units, one decimal above bytes: 1536 -> "1.5 KiB". Integer arithmetic in tenths of a
// unit, so the rounding is exact and nothing overflows even for the largest uint64_t.
std::string format_size(uint64_t size) {
    constexpr std::array<std::string_view, 7> kUnits{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (size < 1024) return std::to_string(size) + " B";
    for (size_t unit = 1; unit < kUnits.size(); ++unit) {
        uint64_t divisor = uint64_t{1} << (10 * unit);
        uint64_t tenths = size / divisor * 10 + (size % divisor * 10 + divisor / 2) / divisor;
        if (tenths < 10240 || unit + 1 == kUnits.size()) {
            return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " " +
                   std::string(kUnits[unit]);
        }
    }
    return {};  // unreachable: the last unit always returns
}

// The "./" keeps a name such as "a:b" from being read as a URI scheme (RFC 3986 §4.2).
std::string make_href(const DirectoryEntry& entry) {
    std::string href = "./" + percent_encode_path_segment(entry.name);
    if (entry.is_directory) href += '/';
    return href;
}

std::string render_row(const DirectoryEntry& entry) {
    std::string label = html_escape(entry.name);
    if (entry.is_directory) label += '/';
    std::string size = entry.is_directory ? "-" : format_size(entry.size);
    return "<tr><td><a href=\"" + html_escape(make_href(entry)) + "\">" + label +
           "</a></td><td class=\"size\">" + size + "</td><td>" + format_http_date(entry.mtime_sec) +
           "</td></tr>\n";
}

}  // namespace

std::string render_directory_listing(std::string_view url_path,
                                     std::vector<DirectoryEntry> entries) {
    std::ranges::sort(entries, [](const DirectoryEntry& a, const DirectoryEntry& b) {
        if (a.is_directory != b.is_directory) return a.is_directory;
        return a.name < b.name;
    });
    std::string page = fill_path(kPageStart, html_escape(url_path));
    if (!url_path.empty() && url_path != "/") {
        page += "<tr><td><a href=\"../\">../</a></td><td class=\"size\">-</td><td></td></tr>\n";
    }
    for (const DirectoryEntry& entry : entries)
        page += render_row(entry);
    page += kPageEnd;
    return page;
}

}  // namespace cgihost
