#!/usr/bin/env python3
"""hello.py: the greeting sample in Python 3, standard library only.

Shows a CGI program in a scripting language without the deprecated ``cgi`` module: the
query string comes from os.environ, urllib.parse.parse_qs decodes it, and html.escape makes
the name safe to print. GET /cgi-bin/hello.py?name=Ada answers "Hello, Ada!".
"""

import html
import os
import sys
from urllib.parse import parse_qs

MAX_NAME_BYTES = 4 * 1024  # as in the C++ samples (cgi-bin/support/request.hpp)


def send_page(title, paragraph, status=None):
    """Writes the headers, the empty line that ends them, and a page in the site's frame."""
    headers = []
    if status:
        headers.append(f"Status: {status}")
    headers.append("Content-Type: text/html; charset=utf-8")
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · cgihost</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header class="site"><a href="/"><img src="/logo.svg" alt="" width="32" height="32">
cgihost</a></header>
<main>
<h1>{title}</h1>
{paragraph}
</main>
<footer class="site"><a href="/">← All samples</a></footer>
</body>
</html>
"""
    # Bytes, so the page is UTF-8 whatever locale the server gave this process.
    sys.stdout.buffer.write(("\n".join(headers) + "\n\n" + page).encode("utf-8"))


def main():
    # errors="replace": a name that is not valid UTF-8 is shown with U+FFFD, not a traceback.
    query = parse_qs(os.environ.get("QUERY_STRING", ""), errors="replace")
    name = query.get("name", [""])[0] or "world"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        send_page("413 Content Too Large",
                  f'<p class="error">The name is longer than {MAX_NAME_BYTES} bytes.</p>',
                  status="413 Content Too Large")
        return
    send_page("Hello from Python",
              f'<p class="greeting">Hello, {html.escape(name)}!</p>\n'
              "<p>This page was written by <code>cgi-bin/hello.py</code>, "
              "a Python 3 script.</p>")


if __name__ == "__main__":
    main()
