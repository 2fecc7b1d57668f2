// Scenario 6: writes a large body (1 GiB, or QUERY_STRING "bytes=N") as fast as the server
// takes it. With a slow client, a server that does not apply backpressure buffers it all.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const long long DEFAULT_BYTES = 1LL << 30;
enum { BLOCK_SIZE = 64 * 1024 };

int main(void) {
    const char* query = getenv("QUERY_STRING");
    long long total = DEFAULT_BYTES;
    if (query && strncmp(query, "bytes=", 6) == 0) total = strtoll(query + 6, NULL, 10);
    printf("Content-Type: application/octet-stream\r\n\r\n");
    fflush(stdout);
    static char block[BLOCK_SIZE];
    memset(block, 'x', sizeof block);
    for (long long sent = 0; sent < total;) {
        size_t chunk = total - sent < BLOCK_SIZE ? (size_t)(total - sent) : BLOCK_SIZE;
        ssize_t written = write(STDOUT_FILENO, block, chunk);
        if (written <= 0) return 1;  // the server closed our stdout: the client went away
        sent += written;
    }
    return 0;
}
