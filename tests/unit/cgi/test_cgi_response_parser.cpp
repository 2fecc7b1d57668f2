#include "cgi/cgi_response_parser.hpp"

#include <gtest/gtest.h>

#include <ostream>

namespace cgihost {
namespace {

using Result = CgiResponseParser::Result;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr size_t kDefaultLimit = size_t{64} * 1024;  // the parser's default

// Everything a caller can observe after the script's output has been fed in some split.
struct Outcome {
    Result result = Result::need_more;
    std::string error;
    CgiResponseHead head;  // only filled in when done
    std::string body;      // the bytes after the header block, recovered through `consumed`

    bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Outcome& outcome) {
    out << "result=" << static_cast<int>(outcome.result) << " error='" << outcome.error << "'";
    if (outcome.result == Result::done) {
        out << " kind=" << static_cast<int>(outcome.head.kind) << " status=" << outcome.head.status
            << " reason='" << outcome.head.reason << "' headers={";
        for (const auto& [name, value] : outcome.head.headers)
            out << name << ": " << value << "|";
        out << "} body='" << outcome.body << "'";
    }
    return out;
}

// Feeds the chunks in order as a script's stdout would deliver them, then signals EOF.
Outcome parse_chunks(const std::vector<std::string_view>& chunks, size_t max_header_bytes) {
    CgiResponseParser parser(max_header_bytes);
    Outcome outcome;
    Result result = Result::need_more;
    for (std::string_view chunk : chunks) {
        if (result == Result::done) {
            outcome.body.append(chunk);
            continue;
        }
        if (result == Result::error) break;
        size_t consumed = 0;
        result = parser.feed(chunk, consumed);
        if (result == Result::done) outcome.body.append(chunk.substr(consumed));
        if (result == Result::need_more) {
            EXPECT_EQ(consumed, chunk.size());
        }
    }
    Result at_eof = parser.finish();
    if (result != Result::need_more) {
        EXPECT_EQ(at_eof, result);
    }
    outcome.result = at_eof;
    outcome.error = parser.error();
    if (at_eof == Result::done) outcome.head = parser.head();
    return outcome;
}

// Parses `output` whole, split in two at every offset, and byte by byte; all must agree.
Outcome parse_everywhere(std::string_view output, size_t max_header_bytes = kDefaultLimit) {
    Outcome whole = parse_chunks({output}, max_header_bytes);
    for (size_t offset = 0; offset <= output.size(); ++offset) {
        Outcome split =
            parse_chunks({output.substr(0, offset), output.substr(offset)}, max_header_bytes);
        EXPECT_EQ(split, whole) << "split at " << offset;
    }
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < output.size(); ++i)
        bytes.push_back(output.substr(i, 1));
    EXPECT_EQ(parse_chunks(bytes, max_header_bytes), whole) << "byte by byte";
    return whole;
}

struct DocumentCase {
    std::string label, output;
    int status;
    std::string reason;
    Headers headers;
    std::string body;
};

void expect_document(const DocumentCase& c) {
    SCOPED_TRACE(c.label);
    Outcome outcome = parse_everywhere(c.output);
    ASSERT_EQ(outcome.result, Result::done) << outcome.error;
    EXPECT_EQ(outcome.head.kind, CgiResponseKind::document);
    EXPECT_EQ(outcome.head.status, c.status);
    EXPECT_EQ(outcome.head.reason, c.reason);
    EXPECT_EQ(outcome.head.headers, c.headers);
    EXPECT_FALSE(outcome.head.location);
    EXPECT_EQ(outcome.body, c.body);
}

TEST(CgiResponseParser, ParsesDocumentResponsesWithEitherLineEnding) {
    const std::vector<DocumentCase> cases = {
        {"LF",
         "Content-Type: text/plain\n\nhello",
         200,
         "OK",
         {{"Content-Type", "text/plain"}},
         "hello"},
        {"CRLF",
         "Content-Type: text/html\r\nX-A: 1\r\n\r\n<p>",
         200,
         "OK",
         {{"Content-Type", "text/html"}, {"X-A", "1"}},
         "<p>"},
        {"mixed",
         "Content-Type: a/b\r\nX-A: 1\n\r\nbody",
         200,
         "OK",
         {{"Content-Type", "a/b"}, {"X-A", "1"}},
         "body"},
        {"no body", "Content-Type: a/b\n\n", 200, "OK", {{"Content-Type", "a/b"}}, ""},
        {"body looks like headers",
         "Content-Type: a/b\n\nStatus: 500\n\nX: y\r\n",
         200,
         "OK",
         {{"Content-Type", "a/b"}},
         "Status: 500\n\nX: y\r\n"},
    };
    for (const auto& c : cases)
        expect_document(c);
}

TEST(CgiResponseParser, ReadsFieldsCaseInsensitivelyAndTrimsWhitespace) {
    const std::vector<DocumentCase> cases = {
        {"lower case",
         "content-type: a/b\nSTATUS: 201\n\n",
         201,
         "Created",
         {{"content-type", "a/b"}},
         ""},
        {"OWS", "Content-Type: \t a/b \t\r\n\r\n", 200, "OK", {{"Content-Type", "a/b"}}, ""},
        {"no space", "Content-Type:a/b\n\n", 200, "OK", {{"Content-Type", "a/b"}}, ""},
        {"empty value",
         "X-Empty:\nContent-Type: a/b\n\n",
         200,
         "OK",
         {{"X-Empty", ""}, {"Content-Type", "a/b"}},
         ""},
        {"colon in value",
         "Content-Type: a/b\nX-Time: 12:30\n\n",
         200,
         "OK",
         {{"Content-Type", "a/b"}, {"X-Time", "12:30"}},
         ""},
        {"inner HT kept",
         "Content-Type: a/b\nX-T: a\tb\n\n",
         200,
         "OK",
         {{"Content-Type", "a/b"}, {"X-T", "a\tb"}},
         ""},
        {"obs-text",
         "Content-Type: a/b\nX-U: caf\xc3\xa9\n\n",
         200,
         "OK",
         {{"Content-Type", "a/b"}, {"X-U", "caf\xc3\xa9"}},
         ""},
        {"odd token name",
         "Content-Type: a/b\nX.Odd!~: v\n\n",
         200,
         "OK",
         {{"Content-Type", "a/b"}, {"X.Odd!~", "v"}},
         ""},
    };
    for (const auto& c : cases)
        expect_document(c);
}

TEST(CgiResponseParser, TakesTheStatusCodeAndReasonFromStatus) {
    const std::vector<DocumentCase> cases = {
        {"code and reason",
         "Status: 404 Not Here\nContent-Type: a/b\n\n",
         404,
         "Not Here",
         {{"Content-Type", "a/b"}},
         ""},
        {"standard reason",
         "Status: 404\nContent-Type: a/b\n\n",
         404,
         "Not Found",
         {{"Content-Type", "a/b"}},
         ""},
        {"space only",
         "Status: 503 \nContent-Type: a/b\n\n",
         503,
         "Service Unavailable",
         {{"Content-Type", "a/b"}},
         ""},
        {"unknown code",
         "Status: 299\nContent-Type: a/b\n\n",
         299,
         "",
         {{"Content-Type", "a/b"}},
         ""},
        {"inner spaces kept",
         "Status: 500  Oh   no \nContent-Type: a/b\n\n",
         500,
         "Oh   no",
         {{"Content-Type", "a/b"}},
         ""},
        {"tab separator",
         "Status: 418\tTeapot\nContent-Type: a/b\n\n",
         418,
         "Teapot",
         {{"Content-Type", "a/b"}},
         ""},
        {"Status alone", "Status: 204\n\n", 204, "No Content", {}, ""},
        {"bounds", "Status: 599\n\n", 599, "", {}, ""},
        {"lowest", "Status: 200\n\n", 200, "OK", {}, ""},
    };
    for (const auto& c : cases)
        expect_document(c);
}

TEST(CgiResponseParser, KeepsRepeatedHeadersAndDropsServerControlledOnes) {
    const std::vector<DocumentCase> cases = {
        {"Set-Cookie",
         "Content-Type: a/b\nSet-Cookie: a=1\nSet-Cookie: b=2\n\n",
         200,
         "OK",
         {{"Content-Type", "a/b"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}},
         ""},
        {"other repeats",
         "X-A: 1\nContent-Type: a/b\nx-a: 2\n\n",
         200,
         "OK",
         {{"X-A", "1"}, {"Content-Type", "a/b"}, {"x-a", "2"}},
         ""},
        {"hop by hop",
         "Connection: close\nKeep-Alive: timeout=5\nTransfer-Encoding: chunked\n"
         "upgrade: h2c\nTE: trailers\nTrailer: X\nProxy-Connection: x\nContent-Type: a/b\n\n",
         200,
         "OK",
         {{"Content-Type", "a/b"}},
         ""},
    };
    for (const auto& c : cases)
        expect_document(c);
}

TEST(CgiResponseParser, KeepsOnlyAValidContentLength) {
    struct Case {
        std::string value_lines;
        std::optional<uint64_t> expected;
        Headers expected_headers;
    };
    const std::vector<Case> cases = {
        {"Content-Length: 5\n", 5, {{"Content-Length", "5"}}},
        {"content-length: 007\n", 7, {{"content-length", "007"}}},
        {"Content-Length: 0\n", 0, {{"Content-Length", "0"}}},
        {"Content-Length: 18446744073709551615\n",
         UINT64_MAX,
         {{"Content-Length", "18446744073709551615"}}},
        {"Content-Length: 5\nContent-Length: 5\n", 5, {{"Content-Length", "5"}}},
        {"Content-Length: 5\nContent-Length: 6\n", std::nullopt, {}},
        {"Content-Length: x\nContent-Length: 5\n", std::nullopt, {}},
        {"Content-Length: 18446744073709551616\n", std::nullopt, {}},
        {"Content-Length: 5a\n", std::nullopt, {}},
        {"Content-Length: -5\n", std::nullopt, {}},
        {"Content-Length: +5\n", std::nullopt, {}},
        {"Content-Length: 1 2\n", std::nullopt, {}},
        {"Content-Length: 5, 5\n", std::nullopt, {}},
        {"Content-Length:\n", std::nullopt, {}},
    };
    for (const Case& c : cases) {
        Outcome outcome = parse_everywhere("Content-Type: a/b\n" + c.value_lines + "\nbody");
        ASSERT_EQ(outcome.result, Result::done) << c.value_lines << outcome.error;
        Headers expected = {{"Content-Type", "a/b"}};
        expected.insert(expected.end(), c.expected_headers.begin(), c.expected_headers.end());
        EXPECT_EQ(outcome.head.content_length, c.expected) << c.value_lines;
        EXPECT_EQ(outcome.head.headers, expected) << c.value_lines;
        EXPECT_EQ(outcome.body, "body");
    }
}

TEST(CgiResponseParser, ClassifiesLocationResponses) {
    struct Case {
        std::string output;
        CgiResponseKind kind;
        int status;
        std::string reason, location, body;
    };
    using enum CgiResponseKind;
    const std::vector<Case> cases = {
        {"Location: /other?x=1\n\n", local_redirect, 200, "OK", "/other?x=1", ""},
        {"Location: /\r\n\r\n", local_redirect, 200, "OK", "/", ""},
        {"Location: https://example.org/a#f\n\n", client_redirect, 302, "Found",
         "https://example.org/a#f", ""},
        {"location: mailto:someone@example.org\n\n", client_redirect, 302, "Found",
         "mailto:someone@example.org", ""},
        {"Location: a+b-c.d:x\n\n", client_redirect, 302, "Found", "a+b-c.d:x", ""},
        {"Location: http://e.example/\nContent-Type: text/html\n\n<a>", client_redirect, 302,
         "Found", "http://e.example/", "<a>"},
        {"Status: 301 Gone Away\nLocation: http://e.example/\nContent-Type: text/html\n\nmoved",
         client_redirect_with_document, 301, "Gone Away", "http://e.example/", "moved"},
        {"Status: 303\nLocation: /local\n\n", client_redirect_with_document, 303, "See Other",
         "/local", ""},
    };
    for (const Case& c : cases) {
        Outcome outcome = parse_everywhere(c.output);
        ASSERT_EQ(outcome.result, Result::done) << c.output << outcome.error;
        EXPECT_EQ(outcome.head.kind, c.kind) << c.output;
        EXPECT_EQ(outcome.head.status, c.status) << c.output;
        EXPECT_EQ(outcome.head.reason, c.reason) << c.output;
        EXPECT_EQ(outcome.head.location, c.location) << c.output;
        EXPECT_EQ(outcome.body, c.body) << c.output;
        // Location is passed on to the client like any other header.
        bool has_location_header = false;
        for (const auto& [name, value] : outcome.head.headers) {
            has_location_header |= (value == c.location);
        }
        EXPECT_TRUE(has_location_header) << c.output;
    }
}

struct ErrorCase {
    std::string output, expected_error;
};

void expect_errors(const std::vector<ErrorCase>& cases, size_t max_header_bytes = kDefaultLimit) {
    for (const ErrorCase& c : cases) {
        Outcome outcome = parse_everywhere(c.output, max_header_bytes);
        EXPECT_EQ(outcome.result, Result::error) << c.output;
        EXPECT_EQ(outcome.error, c.expected_error) << c.output;
    }
}

TEST(CgiResponseParser, RejectsOutputThatEndsTooSoon) {
    expect_errors({
        {"", "script produced no output"},
        {"Content-Type: a/b\n", "script output ended before the blank line that ends its headers"},
        {"Content-Type: a/b", "script output ended before the blank line that ends its headers"},
        {"Content-Type: a/b\r\n\r",
         "script output ended before the blank line that ends its "
         "headers"},
    });
}

TEST(CgiResponseParser, RequiresContentTypeLocationOrStatus) {
    expect_errors({
        {"\n", "headers have none of Content-Type, Location and Status"},
        {"\r\nbody", "headers have none of Content-Type, Location and Status"},
        {"X-Foo: bar\nSet-Cookie: a=1\n\n",
         "headers have none of Content-Type, Location and "
         "Status"},
    });
}

TEST(CgiResponseParser, RejectsMalformedLines) {
    expect_errors({
        {"Content-Type text/plain\n\n", "line 1: header line without ':'"},
        {"HTTP/1.1 200 OK\nContent-Type: a/b\n\n", "line 1: header line without ':'"},
        {"Content-Type: a/b\nX-A: 1\nbroken\n\n", "line 3: header line without ':'"},
        {"Content-Type: a/b\n folded\n\n", "line 2: obsolete line folding"},
        {"Content-Type: a/b\n\tfolded\n\n", "line 2: obsolete line folding"},
        {" Content-Type: a/b\n\n", "line 1: obsolete line folding"},
        {"Content Type: a/b\n\n", "line 1: invalid header name"},
        {"Content-Type : a/b\n\n", "line 1: invalid header name"},
        {": a/b\n\n", "line 1: invalid header name"},
        {"X(Y): a\nContent-Type: a/b\n\n", "line 1: invalid header name"},
        {"Caf\xc3\xa9: a\nContent-Type: a/b\n\n", "line 1: invalid header name"},
        {std::string("X\0Y: a\n\n", 8), "line 1: invalid header name"},
    });
}

TEST(CgiResponseParser, RejectsControlCharactersInValues) {
    expect_errors({
        {std::string("Content-Type: a\0b\n\n", 19), "line 1: control character in a header value"},
        {"Content-Type: a\rSet-Cookie: x=1\n\n", "line 1: control character in a header value"},
        {"Content-Type: a/b\r\r\n\n", "line 1: control character in a header value"},
        {"Content-Type: a/b\nX: \x1b[31m\n\n", "line 2: control character in a header value"},
        {"Content-Type: a/b\nX: a\x7f\n\n", "line 2: control character in a header value"},
        {"Status: 200 O\x01K\n\n", "line 1: control character in a header value"},
    });
}

TEST(CgiResponseParser, RejectsBadStatusLines) {
    const std::string need_digits = "line 1: Status must start with a three-digit code";
    expect_errors({
        {"Status: 20\n\n", need_digits},
        {"Status: 2000\n\n", need_digits},
        {"Status: 200OK\n\n", need_digits},
        {"Status: abc\n\n", need_digits},
        {"Status: 2x0 OK\n\n", need_digits},
        {"Status: -20\n\n", need_digits},
        {"Status:\n\n", need_digits},
        {"Status: 099\n\n", "line 1: Status code 99 is not in 200-599"},
        {"Status: 100 Continue\n\n", "line 1: Status code 100 is not in 200-599"},
        {"Status: 101\n\n", "line 1: Status code 101 is not in 200-599"},
        {"Status: 600\n\n", "line 1: Status code 600 is not in 200-599"},
        {"Status: 999\n\n", "line 1: Status code 999 is not in 200-599"},
    });
}

TEST(CgiResponseParser, RejectsRepeatedCgiFields) {
    expect_errors({
        {"Status: 200\nstatus: 404\n\n", "line 2: more than one Status header"},
        {"Content-Type: a/b\nContent-Type: c/d\n\n", "line 2: more than one Content-Type header"},
        {"Location: /a\nLocation: /b\n\n", "line 2: more than one Location header"},
    });
}

TEST(CgiResponseParser, RejectsLocationsThatAreNeitherLocalNorAbsolute) {
    const std::string neither = "Location is neither a local path nor an absolute URI";
    expect_errors({
        {"Location: relative/path\n\n", neither},
        {"Location: //evil.example/\n\n", neither},
        {"Location:\n\n", neither},
        {"Location: 1http://x/\n\n", neither},
        {"Location: :nothing\n\n", neither},
        {"Location: ht tp://x/\n\n", neither},
        {"Status: 302\nLocation: ../up\n\n", neither},
    });
}

TEST(CgiResponseParser, LimitsTheHeaderBlockSize) {
    const std::string head = "Content-Type: a/b\n\n";  // 19 bytes
    Outcome exact = parse_everywhere(head + "body beyond the limit", head.size());
    EXPECT_EQ(exact.result, Result::done);
    EXPECT_EQ(exact.body, "body beyond the limit");
    const std::string too_long = "header block is longer than 18 bytes";
    expect_errors({{head + "body", too_long},
                   {"X-Long: " + std::string(40, 'x') + "\nContent-Type: a/b\n\n", too_long},
                   {std::string(100, 'x'), too_long},
                   {"X: 1\nX: 2\nX: 3\nX: 4\nX: 5\n", too_long}},
                  head.size() - 1);
}

TEST(CgiResponseParser, DefaultsToA64KiBHeaderLimit) {
    const std::string tail = "\nContent-Type: a/b\n\n";
    const std::string filler = "X: " + std::string(kDefaultLimit - 3 - tail.size(), 'x');
    for (size_t extra : {0, 1}) {
        CgiResponseParser parser;
        size_t consumed = 0;
        std::string output = filler + std::string(extra, 'x') + tail;
        Result expected = extra == 0 ? Result::done : Result::error;
        EXPECT_EQ(parser.feed(output, consumed), expected) << output.size();
    }
}

TEST(CgiResponseParser, ReportsExactlyTheHeaderBytesAsConsumed) {
    const std::string head = "Status: 200\r\nContent-Type: a/b\r\n\r\n";
    const std::string body("\r\n\nbody\0bytes", 13);
    const std::string output = head + body;
    for (size_t offset = 0; offset <= output.size(); ++offset) {
        CgiResponseParser parser;
        size_t first = 0;
        size_t second = 0;
        Result result = parser.feed(std::string_view(output).substr(0, offset), first);
        if (result == Result::need_more) {
            result = parser.feed(std::string_view(output).substr(offset), second);
        }
        ASSERT_EQ(result, Result::done) << offset;
        EXPECT_EQ(first + second, head.size()) << offset;
    }
}

TEST(CgiResponseParser, IgnoresInputAfterTheResultIsKnown) {
    CgiResponseParser parser;
    size_t consumed = 99;
    EXPECT_EQ(parser.feed("", consumed), Result::need_more);
    EXPECT_EQ(consumed, 0u);
    EXPECT_EQ(parser.feed("Content-Type: a/b\n\nxyz", consumed), Result::done);
    EXPECT_EQ(consumed, 19u);
    EXPECT_EQ(parser.feed("more body", consumed), Result::done);
    EXPECT_EQ(consumed, 0u);
    EXPECT_EQ(parser.finish(), Result::done);
    EXPECT_EQ(parser.error(), "");

    CgiResponseParser broken;
    EXPECT_EQ(broken.feed("oops\n", consumed), Result::error);
    EXPECT_EQ(broken.feed("Content-Type: a/b\n\n", consumed), Result::error);
    EXPECT_EQ(consumed, 0u);
    EXPECT_EQ(broken.finish(), Result::error);
    EXPECT_EQ(broken.error(), "line 1: header line without ':'");
}

TEST(CgiResponseParser, AllowsABodyExceptAfterALocalRedirect) {
    struct Case {
        std::string output;
        bool body_allowed;
    };
    for (const Case& c : std::vector<Case>{{"Location: /x\n\n", false},
                                           {"Location: http://x/\n\n", true},
                                           {"Status: 302\nLocation: /x\n\n", true},
                                           {"Content-Type: a/b\n\n", true}}) {
        CgiResponseParser parser;
        size_t consumed = 0;
        ASSERT_EQ(parser.feed(c.output, consumed), Result::done) << c.output;
        EXPECT_EQ(parser.body_allowed(), c.body_allowed) << c.output;
    }
}

TEST(StandardReasonPhrase, KnowsTheCommonCodesAndNothingElse) {
    struct Case {
        int status;
        std::string_view expected;
    };
    for (const Case& c : std::vector<Case>{{200, "OK"},
                                           {204, "No Content"},
                                           {302, "Found"},
                                           {404, "Not Found"},
                                           {413, "Content Too Large"},
                                           {500, "Internal Server Error"},
                                           {504, "Gateway Timeout"},
                                           {299, ""},
                                           {0, ""},
                                           {-1, ""},
                                           {1000, ""}}) {
        EXPECT_EQ(standard_reason_phrase(c.status), c.expected) << c.status;
    }
}

}  // namespace
}  // namespace cgihost
