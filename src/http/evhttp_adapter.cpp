#include "http/evhttp_adapter.hpp"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "http/http_status.hpp"
#include "server/version.hpp"
#include "util/event_ptr.hpp"

namespace cgihost {
namespace {

const char* method_name(evhttp_cmd_type command) {
    switch (command) {
        case EVHTTP_REQ_GET:
            return "GET";
        case EVHTTP_REQ_POST:
            return "POST";
        case EVHTTP_REQ_HEAD:
            return "HEAD";
        case EVHTTP_REQ_PUT:
            return "PUT";
        case EVHTTP_REQ_DELETE:
            return "DELETE";
        case EVHTTP_REQ_OPTIONS:
            return "OPTIONS";
        case EVHTTP_REQ_TRACE:
            return "TRACE";
        case EVHTTP_REQ_CONNECT:
            return "CONNECT";
        case EVHTTP_REQ_PATCH:
            return "PATCH";
    }
    return "UNKNOWN";
}

bool response_has_body(int code) {
    return code >= 200 && code != status::no_content && code != status::not_modified;
}

std::pair<std::string, uint16_t> format_socket_address(const sockaddr_storage& address) {
    char text[INET6_ADDRSTRLEN] = "";
    if (address.ss_family == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
        inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
        return {text, ntohs(v6.sin6_port)};
    }
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    return {text, ntohs(v4.sin_port)};
}

// A file this small is copied into the response buffer, so evhttp sends it in the same
// writev as the head: one TCP segment and one loop iteration instead of two (sendfile(2)
// would be a second system call, after the next EV_WRITE). Larger files stay zero-copy.
constexpr uint64_t kInlineFileBytes = uint64_t{64} * 1024;

// Reads the whole range into `body`; false (leaving `body` as it was) on any error or
// short read, so the caller falls back to sendfile, which reports the failure as before.
bool read_file_range(evbuffer* body, const FileBody& file) {
    evbuffer_iovec space{};
    if (evbuffer_reserve_space(body, static_cast<ev_ssize_t>(file.length), &space, 1) != 1) {
        return false;
    }
    auto* destination = static_cast<char*>(space.iov_base);
    uint64_t done = 0;
    while (done < file.length) {
        ssize_t n = ::pread(file.fd.get(), destination + done, file.length - done,
                            static_cast<off_t>(file.offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<uint64_t>(n);
    }
    space.iov_len = file.length;
    return evbuffer_commit_space(body, &space, 1) == 0;
}

// evbuffer_add_reference's cleanup: the output is done with the shared bytes.
void release_shared(const void*, size_t, void* share) {
    delete static_cast<std::shared_ptr<const std::string>*>(share);
}

// The bytes join the output by reference; the buffer holds a share of them until sent.
void add_shared_body(evbuffer* body, const SharedBody& shared) {
    if (shared.length == 0) return;
    const char* bytes = shared.bytes->data() + shared.offset;
    auto* share = new std::shared_ptr<const std::string>(shared.bytes);
    if (evbuffer_add_reference(body, bytes, shared.length, &release_shared, share) == 0) return;
    // Refused (out of memory for the chain), libevent drops no share: ours to drop, and a
    // copy is the last try before the body goes short (and the client sees a cut answer).
    delete share;
    (void)evbuffer_add(body, bytes, shared.length);
}

void add_file_body(evbuffer* body, FileBody& file) {
    if (file.length == 0) return;
    if (file.length <= kInlineFileBytes && read_file_range(body, file)) return;
    // evbuffer takes the descriptor and sends the range with sendfile(2).
    evbuffer_add_file(body, file.fd.release(), static_cast<ev_off_t>(file.offset),
                      static_cast<ev_off_t>(file.length));
}

}  // namespace

Request make_request(evhttp_request* req) {
    Request request;
    request.method = method_name(evhttp_request_get_command(req));
    request.version_major = static_cast<unsigned char>(req->major);
    request.version_minor = static_cast<unsigned char>(req->minor);
    // evhttp writes our status line with the request's version. RFC 9112 §2.3: we answer with
    // the highest version we conform to, 1.1 (1.0 to a 1.0 client), whatever the client sent;
    // `request` keeps the version as received so validation can refuse a major other than 1.
    // evhttp reads the digits with "%d" into a char, so "HTTP/1.-1" arrives as minor -1.
    if (req->major != 1 || (req->minor != 0 && req->minor != 1)) {
        req->major = 1;
        req->minor = 1;
    }
    const char* target = evhttp_request_get_uri(req);
    request.target = target != nullptr ? target : "";
    if (const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req)) {
        const char* path = evhttp_uri_get_path(uri);
        request.path = path != nullptr ? path : "";
        if (request.path.empty() && evhttp_uri_get_host(uri) != nullptr) request.path = "/";
        const char* query = evhttp_uri_get_query(uri);
        request.has_query = query != nullptr;
        request.query = query != nullptr ? query : "";
    }
    const evkeyvalq* headers = evhttp_request_get_input_headers(req);
    for (const evkeyval* h = headers->tqh_first; h != nullptr; h = h->next.tqe_next) {
        request.headers.emplace_back(h->key, h->value);
    }
    if (evhttp_connection* connection = evhttp_request_get_connection(req)) {
        char* host = nullptr;
        ev_uint16_t port = 0;
        evhttp_connection_get_peer(connection, &host, &port);
        request.remote_addr = host != nullptr ? host : "";
        request.remote_port = port;
    }
    return request;
}

void fill_local_address(evhttp_request* req, Request& request) {
    evhttp_connection* connection = evhttp_request_get_connection(req);
    if (connection == nullptr) return;
    bufferevent* bev = evhttp_connection_get_bufferevent(connection);
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getsockname(bufferevent_getfd(bev), reinterpret_cast<sockaddr*>(&address), &length) ==
        0) {
        std::tie(request.local_addr, request.local_port) = format_socket_address(address);
    }
}

uint64_t send_response(evhttp_request* req, const Request& request, Response&& response,
                       std::unique_ptr<FileStream>* stream) {
    evkeyvalq* out = evhttp_request_get_output_headers(req);
    for (const auto& [name, value] : response.headers) {
        evhttp_add_header(out, name.c_str(), value.c_str());
    }
    evhttp_add_header(out, "Server", kServerSoftware);
    if (response.close_connection) evhttp_add_header(out, "Connection", "close");

    EvbufferPtr body(evbuffer_new());
    // Only a buffer that drains to a descriptor gets sendfile(2) segments from
    // evbuffer_add_file; any other maps the whole range into memory.
    evbuffer_set_flags(body.get(), EVBUFFER_FLAG_DRAINS_TO_FD);
    uint64_t length = response.body_length();
    bool with_body = response_has_body(response.status) && !request.is_head();
    if (!response_has_body(response.status)) {
        length = 0;
    } else if (!with_body) {
        evhttp_add_header(out, "Content-Length", std::to_string(length).c_str());
        length = 0;
    } else if (response.shared) {
        add_shared_body(body.get(), *response.shared);
    } else if (response.file && !(request.tls_connection && stream != nullptr)) {
        add_file_body(body.get(), *response.file);
    } else if (response.file && response.file->length <= kInlineFileBytes) {
        (void)read_file_range(body.get(), *response.file);
    } else {
        evbuffer_add(body.get(), response.body.data(), response.body.size());
    }
    std::string reason(reason_phrase(response.status));
    if (with_body && response.file && request.tls_connection && stream != nullptr &&
        response.file->length > kInlineFileBytes) {
        *stream =
            FileStream::start(req, response.status, reason.c_str(), std::move(*response.file));
        return length;
    }
    evhttp_send_reply(req, response.status, reason.c_str(), body.get());
    return length;
}

}  // namespace cgihost
