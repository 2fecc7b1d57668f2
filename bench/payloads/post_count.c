// Scenarios 3 and body-cpu: reads the request body (CONTENT_LENGTH bytes from stdin, RFC 3875
// §4.2) and answers with how many bytes it got, so a server that loses part of the body is
// visible. Without CONTENT_LENGTH (Apache passes a chunked body without one) it reads to EOF.
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void) {
    const char* length_text = getenv("CONTENT_LENGTH");
    long expected = length_text ? strtol(length_text, NULL, 10) : LONG_MAX;
    long count = 0;
    char buffer[65536];
    while (count < expected) {
        ssize_t got = read(STDIN_FILENO, buffer, sizeof buffer);
        if (got <= 0) break;
        count += got;
    }
    printf("Content-Type: text/plain\r\n\r\ncount=%ld\n", count);
    return 0;
}
