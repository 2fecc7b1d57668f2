#include "http/file_stream.hpp"

#include <event2/buffer.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "util/event_ptr.hpp"

namespace cgihost {
namespace {

// Bytes read from the file per piece: a few TLS records' worth of work per loop turn, and the
// most a connection holds of the file at any time.
constexpr uint64_t kPieceBytes = uint64_t{256} * 1024;

// Appends up to `length` bytes of `fd` from `offset`; false on an error or end of file.
bool read_piece(evbuffer* into, int fd, uint64_t offset, uint64_t length) {
    evbuffer_iovec space{};
    if (evbuffer_reserve_space(into, static_cast<ev_ssize_t>(length), &space, 1) != 1) return false;
    ssize_t n = 0;
    do {
        n = ::pread(fd, space.iov_base, length, static_cast<off_t>(offset));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    space.iov_len = static_cast<size_t>(n);
    return evbuffer_commit_space(into, &space, 1) == 0;
}

}  // namespace

std::unique_ptr<FileStream> FileStream::start(evhttp_request* req, int status, const char* reason,
                                              FileBody file) {
    // With Content-Length present, evhttp sends the pieces as they are, not chunked.
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length",
                      std::to_string(file.length).c_str());
    std::unique_ptr<FileStream> stream(new FileStream(req, std::move(file)));
    evhttp_send_reply_start(req, status, reason);
    stream->send_next_piece();
    return stream;
}

void FileStream::on_piece_sent(evhttp_connection*, void* self) {
    static_cast<FileStream*>(self)->send_next_piece();
}

void FileStream::send_next_piece() {
    if (sent_ == file_.length) {
        evhttp_send_reply_end(req_);
        return;
    }
    const uint64_t length = std::min(kPieceBytes, file_.length - sent_);
    EvbufferPtr piece(evbuffer_new());
    if (!read_piece(piece.get(), file_.fd.get(), file_.offset + sent_, length)) {
        // The head promised more than we can send: only a cut connection says so now.
        evhttp_connection_free(evhttp_request_get_connection(req_));
        return;
    }
    sent_ += evbuffer_get_length(piece.get());
    // on_piece_sent runs once evhttp's output is empty, i.e. this piece is in the kernel.
    evhttp_send_reply_chunk_with_cb(req_, piece.get(), &FileStream::on_piece_sent, this);
}

}  // namespace cgihost
