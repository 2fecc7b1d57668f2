// The one thin boundary between libevent's evhttp_request and cgihost's plain values.
#pragma once

#include <event2/http.h>

#include <memory>

#include "http/file_stream.hpp"
#include "http/http_message.hpp"

namespace cgihost {

// Copies what handlers need out of evhttp's request: method, version, target, headers, peer.
// Also makes evhttp answer with HTTP/1.1, or HTTP/1.0 to a 1.0 client, whatever version the
// request line named (RFC 9112 §2.3); the returned Request keeps the version as received.
Request make_request(evhttp_request* req);

// Fills request.local_addr/local_port from the connection's socket (a syscall, so only the
// CGI path asks for it: SERVER_ADDR, RFC 3875 §4.1.14 fallback).
void fill_local_address(evhttp_request* req, Request& request);

// Sends `response` as the single reply to `req`. A HEAD request, 204 and 304 get no body
// (RFC 9110 §9.3.2, §15.3.5, §15.4.5) but HEAD keeps the Content-Length a GET would have.
// Returns the number of body bytes handed to the connection, for the access log.
// Over TLS (request.tls_connection) a file body larger than a small inline copy cannot go by
// sendfile(2): it is streamed in pieces by a FileStream put into `stream`, which the caller
// keeps until the request completes or the connection closes.
uint64_t send_response(evhttp_request* req, const Request& request, Response&& response,
                       std::unique_ptr<FileStream>* stream = nullptr);

}  // namespace cgihost
