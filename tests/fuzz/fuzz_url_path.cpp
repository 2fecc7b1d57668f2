// libFuzzer target: URL decoding, normalisation and path resolution against a real tree.
// Properties:
// - a path that normalises is absolute, has no ".", ".." or empty segment, no NUL or backslash,
//   and normalising it again changes nothing once it is percent-encoded back;
// - resolve_target either refuses (404/403/400) or names a file inside the docroot (a static
//   target, never inside the CGI directory, or a .sh handler script) or inside the CGI
//   directory (a script); a script's name and PATH_INFO make up the whole normalised path.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "files/static_files.hpp"
#include "files/target_resolver.hpp"
#include "fuzz_tree.hpp"

namespace {

void check_normalized(const std::string& path) {
    if (path.empty() || path.front() != '/') std::abort();
    if (path.find('\0') != std::string::npos || path.find('\\') != std::string::npos) {
        std::abort();
    }
    size_t start = 1;
    while (start < path.size()) {
        size_t slash = path.find('/', start);
        if (slash == std::string::npos) slash = path.size();
        std::string_view segment(path.data() + start, slash - start);
        if (segment.empty() || segment == "." || segment == "..") std::abort();
        start = slash + 1;
    }
    auto again = cgihost::normalize_url_path(cgihost::encode_url_path(path));
    if (!again || *again != path) std::abort();
}

void check_resolved(const cgihost::fuzz::FuzzTree& tree, const cgihost::ResolverConfig& config,
                    std::string_view raw) {
    using cgihost::TargetKind;
    using cgihost::fuzz::is_inside;
    cgihost::Target target = cgihost::resolve_target(config, raw);
    switch (target.kind) {
        case TargetKind::static_file:
        case TargetKind::directory_listing:
            if (!is_inside(target.file_path, tree.docroot())) std::abort();
            // Serving a script's source would leak it: static targets stay out of cgi_dir.
            if (is_inside(target.file_path, tree.cgi_dir())) std::abort();
            break;
        case TargetKind::cgi_script:
            // A script from the CGI directory, or a handler script (run.sh) from the docroot.
            if (!is_inside(target.file_path, tree.cgi_dir()) &&
                (target.interpreter.empty() || !is_inside(target.file_path, tree.docroot()))) {
                std::abort();
            }
            // RFC 3875 §3.2: the script's name and PATH_INFO together are the whole path.
            if (!target.path_info.empty() &&
                target.script_name + target.path_info != target.url_path) {
                std::abort();
            }
            break;
        case TargetKind::redirect_to_slash:
        case TargetKind::not_found:
        case TargetKind::forbidden:
        case TargetKind::bad_request:
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
    static const cgihost::fuzz::FuzzTree tree;
    static const cgihost::ResolverConfig config{.docroot = tree.docroot(),
                                                .cgi_url_prefix = "/cgi-bin",
                                                .cgi_dir = tree.cgi_dir(),
                                                .cgi_extension_handlers = {{".sh", "/bin/sh"}}};
    std::string_view raw(reinterpret_cast<const char*>(bytes), size);
    if (auto normalized = cgihost::normalize_url_path(raw)) check_normalized(*normalized);
    check_resolved(tree, config, raw);
    return 0;
}
