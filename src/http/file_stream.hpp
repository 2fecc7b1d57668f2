// Sends a file's byte range as a response body in bounded pieces, each read (pread) only once
// the one before has left for the client. For connections whose bytes cannot go by sendfile(2)
// — TLS encrypts in user space — so that memory stays flat at any file size and a slow client
// holds one piece, not the file.
#pragma once

#include <event2/http.h>

#include <memory>

#include "http/http_message.hpp"

namespace cgihost {

class FileStream {
  public:
    // Sends the head (`req`'s output headers, with Content-Length set here) and the first
    // piece. The stream must live until the request completes or its connection closes; it
    // ends the reply itself, and cuts the connection if the file cannot be read.
    static std::unique_ptr<FileStream> start(evhttp_request* req, int status, const char* reason,
                                             FileBody file);
    ~FileStream() = default;
    FileStream(const FileStream&) = delete;
    FileStream& operator=(const FileStream&) = delete;

  private:
    FileStream(evhttp_request* req, FileBody file);
    static void on_piece_sent(evhttp_connection*, void* self);
    // May end the reply, after which evhttp may free this stream: nothing follows it.
    void send_next_piece();

    evhttp_request* req_;
    FileBody file_;
    uint64_t sent_ = 0;
    // One piece's memory (kept by the worker thread between streams), read into again for
    // each piece and lent to evhttp's output by reference, so no piece is allocated. The
    // output holds a share until it drops the piece, which may be after this stream is gone.
    std::shared_ptr<char[]> piece_;
};

}  // namespace cgihost
