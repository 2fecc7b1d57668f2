#include "files/static_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <memory>

#include "files/directory_listing.hpp"
#include "http/http_conditional.hpp"
#include "http/http_range.hpp"
#include "http/http_status.hpp"
#include "http/url_codec.hpp"

namespace cgihost {
namespace {

Response method_not_allowed() {
    Response response = make_error_response(status::method_not_allowed);
    response.add_header("Allow", "GET, HEAD");
    return response;
}

// nginx's mapping: a vanished file is 404, a permission problem 403, anything else 500.
Response response_for_errno(int error_number) {
    switch (error_number) {
        case ENOENT:
        case ENOTDIR:
            return make_error_response(status::not_found);
        case EACCES:
        case EPERM:
        case ELOOP:
            return make_error_response(status::forbidden);
        case EMFILE:
        case ENFILE:  // out of descriptors is passing, as for a script that cannot be spawned
            return make_retry_later_response("The server is busy; try again shortly.");
        default:
            return make_error_response(status::internal_server_error);
    }
}

std::optional<std::string_view> optional_header(const Request& request, std::string_view name) {
    const std::string* value = request.header(name);
    if (value == nullptr) return std::nullopt;
    return std::string_view(*value);
}

ConditionalHeaders conditional_headers_of(const Request& request) {
    return ConditionalHeaders{optional_header(request, "If-Match"),
                              optional_header(request, "If-None-Match"),
                              optional_header(request, "If-Modified-Since"),
                              optional_header(request, "If-Unmodified-Since")};
}

// RFC 9110 §14.2: a Range is only honoured on GET, and If-Range may veto it.
RangeRequest range_of(const Request& request, const std::string& etag, int64_t mtime,
                      uint64_t size) {
    const std::string* range = request.header("Range");
    if (range == nullptr || request.method != "GET") return RangeRequest{RangeKind::none, {}};
    const std::string* if_range = request.header("If-Range");
    if (if_range != nullptr && !if_range_matches(*if_range, etag, mtime)) {
        return RangeRequest{RangeKind::none, {}};
    }
    return parse_range_header(*range, size);
}

Response serve_listing(const Target& target) {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(target.file_path.c_str()), ::closedir);
    if (!dir) return response_for_errno(errno);
    std::vector<DirectoryEntry> entries;
    while (const dirent* entry = ::readdir(dir.get())) {
        if (entry->d_name[0] == '.') continue;  // dotfiles are never listed
        struct stat st {};
        if (::fstatat(::dirfd(dir.get()), entry->d_name, &st, 0) != 0) continue;
        entries.push_back(DirectoryEntry{entry->d_name, S_ISDIR(st.st_mode),
                                         static_cast<uint64_t>(st.st_size), st.st_mtim.tv_sec});
    }
    Response response;
    response.body = render_directory_listing(target.url_path, std::move(entries));
    response.add_header("Content-Type", "text/html; charset=utf-8");
    return response;
}

Response redirect_to_slash(const Request& request, const Target& target) {
    Response response = make_error_response(status::moved_permanently);
    std::string location = encode_url_path(target.url_path) + "/";
    if (request.has_query) location += "?" + request.query;
    response.add_header("Location", location);
    return response;
}

}  // namespace

Response serve_regular_file(const Request& request, const std::string& path,
                            const MimeTypes& mime) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) return response_for_errno(errno);
    if (!S_ISREG(st.st_mode)) return make_error_response(status::forbidden);

    const auto size = static_cast<uint64_t>(st.st_size);
    FileVersion version{static_cast<uint64_t>(st.st_ino), size, st.st_mtim.tv_sec,
                        st.st_mtim.tv_nsec};
    std::string etag = make_etag(version);
    Response response;
    response.add_header("ETag", etag);
    response.add_header("Last-Modified", format_http_date(st.st_mtim.tv_sec));
    response.add_header("Accept-Ranges", "bytes");

    switch (evaluate_conditionals(conditional_headers_of(request), etag, st.st_mtim.tv_sec, true)) {
        case ConditionalOutcome::not_modified:
            response.status = status::not_modified;
            return response;
        case ConditionalOutcome::precondition_failed:
            return make_error_response(status::precondition_failed);
        case ConditionalOutcome::proceed:
            break;
    }
    response.add_header("Content-Type", mime.content_type_for(path));
    RangeRequest range = range_of(request, etag, st.st_mtim.tv_sec, size);
    if (range.kind == RangeKind::unsatisfiable) {
        Response refused = make_error_response(status::range_not_satisfiable);
        refused.add_header("Content-Range", format_unsatisfied_range(size));
        return refused;
    }
    FileBody body{std::move(fd), 0, size};
    if (range.kind == RangeKind::single) {
        response.status = status::partial_content;
        response.add_header("Content-Range", format_content_range(range.range, size));
        body.offset = range.range.first;
        body.length = range.range.length;
    }
    response.file = std::move(body);
    return response;
}

std::string encode_url_path(std::string_view decoded_path) {
    std::string out;
    size_t start = 0;
    while (start < decoded_path.size()) {
        size_t slash = decoded_path.find('/', start);
        if (slash == std::string_view::npos) slash = decoded_path.size();
        out += percent_encode_path_segment(decoded_path.substr(start, slash - start));
        if (slash < decoded_path.size()) out += '/';
        start = slash + 1;
    }
    return out;
}

Response serve_static_target(const Request& request, const Target& target,
                             const MimeTypes& mime_types, const StaticFileOptions& options) {
    switch (target.kind) {
        case TargetKind::bad_request:
            return make_error_response(status::bad_request);
        case TargetKind::not_found:
            return make_error_response(status::not_found);
        case TargetKind::forbidden:
            return make_error_response(status::forbidden);
        case TargetKind::cgi_script:
            return make_error_response(status::internal_server_error);
        default:
            break;
    }
    if (request.method != "GET" && request.method != "HEAD") return method_not_allowed();
    switch (target.kind) {
        case TargetKind::redirect_to_slash:
            return redirect_to_slash(request, target);
        case TargetKind::directory_listing:
            return options.directory_listing ? serve_listing(target)
                                             : make_error_response(status::forbidden);
        default:
            return serve_regular_file(request, target.file_path, mime_types);
    }
}

}  // namespace cgihost
