// The static-file floor (issue 14): the least any libevent evhttp server can do per request on
// this machine. Two threads, each with its own event_base, evhttp and SO_REUSEPORT listening
// socket on the same port (the kernel spreads connections over them), answer every request
// with 200, one Content-Type header and a body that never leaves memory: no file system, no
// config, no logging, no routing beyond the one path that picks the bigger body.
//
//   static_floor PORT        # listens on 127.0.0.1:PORT until killed
//
// The bodies are the bytes of the bench's files (4096 or 1048576 'x'), so the bench's response
// checks pass: /static/1m.bin gets 1 MiB, any other path 4 KiB.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define THREADS 2
#define SMALL_BYTES 4096
#define LARGE_BYTES (1024 * 1024)

static char body[LARGE_BYTES];  // 'x' * 1 MiB; the 4 KiB body is its first 4096 bytes

static void die(const char* what) {
    perror(what);
    exit(2);
}

static void answer(struct evhttp_request* request, void* unused) {
    (void)unused;
    const char* path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(request));
    size_t size = path && strcmp(path, "/static/1m.bin") == 0 ? LARGE_BYTES : SMALL_BYTES;
    struct evbuffer* reply = evbuffer_new();
    // A reference, not a copy: the floor should not pay for memcpy of the body either.
    evbuffer_add_reference(reply, body, size, NULL, NULL);
    evhttp_add_header(evhttp_request_get_output_headers(request), "Content-Type",
                      "application/octet-stream");
    evhttp_send_reply(request, 200, "OK", reply);
    evbuffer_free(reply);
}

static int listen_socket(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0)
        die("setsockopt");
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr*)&address, sizeof address) < 0) die("bind");
    if (listen(fd, 4096) < 0) die("listen");
    return fd;
}

static void* serve(void* argument) {
    int port = *(int*)argument;
    struct event_base* base = event_base_new();
    struct evhttp* http = base ? evhttp_new(base) : NULL;
    if (!http) die("evhttp_new");
    evhttp_set_gencb(http, answer, NULL);
    if (evhttp_accept_socket(http, listen_socket(port)) != 0) die("evhttp_accept_socket");
    event_base_dispatch(base);
    return NULL;
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    memset(body, 'x', sizeof body);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; ++i)
        if (pthread_create(&threads[i], NULL, serve, &port) != 0) die("pthread_create");
    for (int i = 0; i < THREADS; ++i)
        pthread_join(threads[i], NULL);
    return 0;
}
