// Scenario 5: a long-running CGI. It sleeps (10 s, or QUERY_STRING "seconds=N") and then
// answers, so a server has to hold many requests and children at once.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { DEFAULT_SECONDS = 10 };

int main(void) {
    const char* query = getenv("QUERY_STRING");
    long seconds = DEFAULT_SECONDS;
    if (query && strncmp(query, "seconds=", 8) == 0) seconds = strtol(query + 8, NULL, 10);
    struct timespec remaining = {.tv_sec = seconds, .tv_nsec = 0};
    while (nanosleep(&remaining, &remaining) != 0) {
    }
    printf("Content-Type: text/plain\r\n\r\nslept %ld s\n", seconds);
    return 0;
}
