#include "http/file_stream.hpp"

#include <event2/buffer.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <string>
#include <vector>

#include "util/event_ptr.hpp"

namespace cgihost {
namespace {

// Bytes read from the file per piece: a few TLS records' worth of work per loop turn, and the
// most a connection holds of the file at any time.
constexpr uint64_t kPieceBytes = uint64_t{256} * 1024;

// Reads up to `length` bytes of `fd` from `offset` into `into`; 0 on an error or end of file.
size_t read_piece(char* into, int fd, uint64_t offset, uint64_t length) {
    ssize_t n = 0;
    do {
        n = ::pread(fd, into, length, static_cast<off_t>(offset));
    } while (n < 0 && errno == EINTR);
    return n > 0 ? static_cast<size_t>(n) : 0;
}

// Piece memory a worker thread keeps between responses. A fresh 256 KiB block costs more than
// the read into it: glibc hands a freed block back to the kernel (madvise), so every response
// faulted its pages in again; perf put the first piece's pread at a fifth of the server's CPU
// for 1 MiB files over TLS. Kept blocks stay mapped. A piece may be released after its
// stream and even its thread are gone, so each one holds its shelf.
struct PieceShelf {
    // At most this many blocks wait on a shelf (4 MiB): enough for every stream of a busy
    // worker, little once it is idle.
    static constexpr size_t kKept = 16;
    std::mutex lock;  // releases come from the worker's loop; the lock covers any other case
    std::vector<std::unique_ptr<char[]>> blocks;
};

std::shared_ptr<char[]> take_piece_memory() {
    thread_local const std::shared_ptr<PieceShelf> shelf = std::make_shared<PieceShelf>();
    std::unique_ptr<char[]> block;
    {
        const std::lock_guard<std::mutex> hold(shelf->lock);
        if (!shelf->blocks.empty()) {
            block = std::move(shelf->blocks.back());
            shelf->blocks.pop_back();
        }
    }
    // Left uninitialised: pread fills what is sent. (Zeroing it cost a quarter of the
    // server's CPU for 1 MiB files over TLS.)
    if (!block) block = std::make_unique_for_overwrite<char[]>(kPieceBytes);
    return {block.release(), [keeper = shelf](char* memory) {
                std::unique_ptr<char[]> returned(memory);
                const std::lock_guard<std::mutex> hold(keeper->lock);
                if (keeper->blocks.size() < PieceShelf::kKept)
                    keeper->blocks.push_back(std::move(returned));
            }};
}

// evbuffer_add_reference's cleanup: the output is done with the piece.
void release_piece(const void*, size_t, void* share) {
    delete static_cast<std::shared_ptr<char[]>*>(share);
}

}  // namespace

FileStream::FileStream(evhttp_request* req, FileBody file)
    : req_(req), file_(std::move(file)), piece_(take_piece_memory()) {}

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
    const size_t got = read_piece(piece_.get(), file_.fd.get(), file_.offset + sent_, length);
    if (got == 0) {
        // The head promised more than we can send: only a cut connection says so now.
        evhttp_connection_free(evhttp_request_get_connection(req_));
        return;
    }
    sent_ += got;
    // The previous piece has left (we are called once the output is empty), so its memory
    // is ours to read into again.
    EvbufferPtr piece(evbuffer_new());
    auto* share = new std::shared_ptr<char[]>(piece_);
    if (!piece ||
        evbuffer_add_reference(piece.get(), piece_.get(), got, &release_piece, share) != 0) {
        // Out of memory: libevent took no share, and there is nothing to send the piece in.
        delete share;
        evhttp_connection_free(evhttp_request_get_connection(req_));
        return;
    }
    // on_piece_sent runs once evhttp's output is empty, i.e. this piece is in the kernel.
    evhttp_send_reply_chunk_with_cb(req_, piece.get(), &FileStream::on_piece_sent, this);
}

}  // namespace cgihost
