#include "files/static_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

std::shared_ptr<const FileFacts> gather_file_facts(int fd, const struct stat& st, std::string path,
                                                   const MimeTypes& mime) {
    auto facts = std::make_shared<FileFacts>();
    facts->identity = identity_of(st);
    const uint64_t size = facts->identity.size;
    facts->etag =
        make_etag(FileVersion{facts->identity.inode, size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec});
    facts->last_modified = format_http_date(st.st_mtim.tv_sec);
    facts->content_type = mime.content_type_for(path);
    facts->path = std::move(path);
    if (size <= kFileContentBytes) {
        auto content = std::make_shared<std::string>(size, '\0');
        uint64_t done = 0;
        while (done < size) {
            const ssize_t n =
                ::pread(fd, content->data() + done, size - done, static_cast<off_t>(done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return nullptr;  // shorter than fstat said: changing under us
            done += static_cast<uint64_t>(n);
        }
        facts->content = std::move(content);
    }
    return facts;
}

Response respond_with_file(const Request& request, const std::shared_ptr<const FileFacts>& facts,
                           UniqueFd file) {
    const uint64_t size = facts->identity.size;
    const int64_t mtime = facts->identity.mtime_sec;
    Response response;
    response.add_header("ETag", facts->etag);
    response.add_header("Last-Modified", facts->last_modified);
    response.add_header("Accept-Ranges", "bytes");

    switch (evaluate_conditionals(conditional_headers_of(request), facts->etag, mtime, true)) {
        case ConditionalOutcome::not_modified:
            response.status = status::not_modified;
            return response;
        case ConditionalOutcome::precondition_failed:
            return make_error_response(status::precondition_failed);
        case ConditionalOutcome::proceed:
            break;
    }
    response.add_header("Content-Type", facts->content_type);
    RangeRequest range = range_of(request, facts->etag, mtime, size);
    if (range.kind == RangeKind::unsatisfiable) {
        Response refused = make_error_response(status::range_not_satisfiable);
        refused.add_header("Content-Range", format_unsatisfied_range(size));
        return refused;
    }
    uint64_t offset = 0;
    uint64_t length = size;
    if (range.kind == RangeKind::single) {
        response.status = status::partial_content;
        response.add_header("Content-Range", format_content_range(range.range, size));
        offset = range.range.first;
        length = range.range.length;
    }
    if (facts->content) {
        response.shared = SharedBody{facts->content, offset, length};
    } else {
        response.file = FileBody{std::move(file), offset, length};
    }
    return response;
}

Response serve_regular_file(const Request& request, const std::string& path, const MimeTypes& mime,
                            std::shared_ptr<const FileFacts>* served) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) return response_for_errno(errno);
    if (!S_ISREG(st.st_mode)) return make_error_response(status::forbidden);
    std::shared_ptr<const FileFacts> facts = gather_file_facts(fd.get(), st, path, mime);
    if (!facts) return make_error_response(status::internal_server_error);
    if (served != nullptr) *served = facts;
    return respond_with_file(request, facts, std::move(fd));
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
                             const MimeTypes& mime_types, const StaticFileOptions& options,
                             std::shared_ptr<const FileFacts>* served) {
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
            return serve_regular_file(request, target.file_path, mime_types, served);
    }
}

}  // namespace cgihost
