// The minimal C CGI of scenario 1: one header, one line, through stdio like most C programs.
#include <stdio.h>

int main(void) {
    fputs("Content-Type: text/plain\r\n\r\nHello, world!\n", stdout);
    return 0;
}
