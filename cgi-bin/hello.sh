#!/bin/sh
# hello.sh: the greeting sample in POSIX sh, to show that CGI needs no particular language.
# Anything that reads its environment and writes headers, an empty line and a body to stdout
# is a CGI program. GET /cgi-bin/hello.sh?name=Ada answers "Hello, Ada!"; the name is
# percent-decoded (awk, byte by byte) and HTML-escaped (sed) before it reaches the page.
set -u

# The first name=... value of QUERY_STRING, still percent-encoded; empty when there is none.
encoded=$(printf '%s' "${QUERY_STRING:-}" | tr '&' '\n' | sed -n 's/^name=//p' | head -n 1)

# application/x-www-form-urlencoded: '+' is a space and %XX a byte. LC_ALL=C keeps awk working
# on bytes, so UTF-8 names survive. A NUL byte cannot live in a shell variable and is dropped.
name=$(printf '%s' "$encoded" | LC_ALL=C awk '
    BEGIN { hex = "0123456789abcdef" }
    {
        gsub(/\+/, " ")
        out = ""
        while (match($0, /%[0-9A-Fa-f][0-9A-Fa-f]/)) {
            byte = (index(hex, tolower(substr($0, RSTART + 1, 1))) - 1) * 16 \
                 + index(hex, tolower(substr($0, RSTART + 2, 1))) - 1
            out = out substr($0, 1, RSTART - 1) (byte ? sprintf("%c", byte) : "")
            $0 = substr($0, RSTART + 3)
        }
        printf "%s", out $0
    }')
[ -n "$name" ] || name=world

# Escape '&' first so the entities added after it are not escaped twice.
safe_name=$(printf '%s' "$name" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' \
    -e 's/"/\&quot;/g' -e "s/'/\&#39;/g")

printf 'Content-Type: text/html; charset=utf-8\n\n'
cat <<PAGE
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hello from sh · cgihost</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header class="site"><a href="/"><img src="/logo.svg" alt="" width="32" height="32">
cgihost</a></header>
<main>
<h1>Hello from sh</h1>
<p class="greeting">Hello, $safe_name!</p>
<p>This page was written by <code>cgi-bin/hello.sh</code>, a POSIX shell script.</p>
</main>
<footer class="site"><a href="/">← All samples</a></footer>
</body>
</html>
PAGE
