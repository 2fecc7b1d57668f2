// hello: the first CGI program.
//
// Shows the whole contract between a CGI program and the server (RFC 3875): the server runs
// the program once per request, and the program writes a header block to stdout, then an empty
// line, then the body. Here the header block is cgicc's HTTPContentHeader, which prints
// "Content-Type: ..." and the empty line; the body is a small HTML page.
#include <cgicc/HTTPContentHeader.h>

#include <iostream>

#include "html.hpp"

int main() {
    std::cout << cgicc::HTTPContentHeader(samples::kHtmlContentType);
    samples::page_start("Hello, world!");
    std::cout << "<p>This page was written by a C++ program in <code>cgi-bin/</code>, run by "
                 "cgihost for this one request.</p>\n"
                 "<p>Everything above the first empty line of its output was a header for the "
                 "server; everything below it is this page.</p>\n";
    samples::page_end();
}
