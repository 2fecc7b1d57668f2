// An incremental parser for the header block a CGI script writes before its body (RFC 3875 §6).
// Pure: it is fed bytes and knows nothing of pipes or the event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cgihost {

// The four response types of RFC 3875 §6.2.
enum class CgiResponseKind {
    document,                      // §6.2.1: no Location
    local_redirect,                // §6.2.2: Location is a local path, no Status
    client_redirect,               // §6.2.3: Location is an absolute URI, no Status → 302
    client_redirect_with_document  // §6.2.4: Location together with Status
};

struct CgiResponseHead {
    CgiResponseKind kind = CgiResponseKind::document;
    int status = 200;    // §6.3.3: 200 for a document, 302 for a client redirect without Status
    std::string reason;  // from the Status line, else standard_reason_phrase(status)
    // Headers for the client in the script's order and spelling. Excludes Status and the
    // hop-by-hop fields the server controls (Connection, Keep-Alive, Proxy-Connection, TE,
    // Trailer, Transfer-Encoding, Upgrade). Repeats — every Set-Cookie, say — stay separate
    // entries. Content-Length stays in only when it is valid (see content_length).
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<std::string> location;     // the Location value, when given
    std::optional<uint64_t> content_length;  // the script's Content-Length, when valid

    friend bool operator==(const CgiResponseHead&, const CgiResponseHead&) = default;
};

// The reason phrase RFC 9110 §15 (and RFC 6585, RFC 7725) gives `status`, or "" if unknown.
std::string_view standard_reason_phrase(int status);

class CgiResponseParser {
  public:
    enum class Result { need_more, done, error };

    // Header blocks longer than max_header_bytes (line ends included) are an error.
    explicit CgiResponseParser(size_t max_header_bytes = size_t{64} * 1024);

    // Consumes header bytes from `data` and sets `consumed` to how many of them belong to the
    // header block, the blank line included: all of `data` while the result is need_more; after
    // `done`, data.substr(consumed) — and all later output — is body. Once done or error, later
    // calls change nothing, return the same result and consume 0 bytes.
    Result feed(std::string_view data, size_t& consumed);

    // Called at the script's stdout EOF. An error unless the header block was complete.
    Result finish();

    // The parsed head; valid after `done`.
    const CgiResponseHead& head() const { return head_; }

    // Why parsing failed, for the error log; "" unless the result was error.
    const std::string& error() const { return error_; }

    // Whether the script may follow this head with a body. RFC 3875 §6.2.2 forbids a body after
    // a local redirect; the parser cannot know whether one follows, so the caller (which sees
    // the rest of the output) checks this and treats any body after a local redirect as a
    // script error. Every other kind may carry a body. Valid after `done`.
    bool body_allowed() const { return head_.kind != CgiResponseKind::local_redirect; }

  private:
    Result parse_line(std::string_view line);
    Result parse_field(std::string_view name, std::string_view value);
    Result parse_status(std::string_view value);
    Result complete_head();
    void settle_content_length();
    Result fail(std::string message);

    size_t max_header_bytes_;
    size_t header_bytes_ = 0;  // bytes of the header block seen so far, across feeds
    size_t line_number_ = 0;
    std::string partial_line_;  // a line whose end has not arrived yet
    Result state_ = Result::need_more;
    bool saw_status_ = false;
    bool saw_content_type_ = false;
    CgiResponseHead head_;
    std::string error_;
};

}  // namespace cgihost
