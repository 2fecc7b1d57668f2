// libFuzzer target: the CGI response-header parser fed a script's output in random pieces.
// Property: splitting the input anywhere never changes the outcome, the head or the body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cgi/cgi_response_parser.hpp"

namespace {

struct Outcome {
    cgihost::CgiResponseParser::Result result;
    cgihost::CgiResponseHead head;
    std::string body;
};

// Feeds `data` in pieces whose sizes come from `cuts` (0 = whole).
Outcome parse(std::string_view data, std::string_view cuts) {
    cgihost::CgiResponseParser parser(4096);
    Outcome outcome{cgihost::CgiResponseParser::Result::need_more, {}, {}};
    size_t at = 0;
    size_t cut_index = 0;
    while (at < data.size()) {
        size_t piece = data.size() - at;
        if (cut_index < cuts.size()) piece = 1 + static_cast<uint8_t>(cuts[cut_index++]) % piece;
        std::string_view chunk = data.substr(at, piece);
        at += piece;
        if (outcome.result != cgihost::CgiResponseParser::Result::need_more) {
            if (outcome.result == cgihost::CgiResponseParser::Result::done) outcome.body += chunk;
            continue;
        }
        size_t consumed = 0;
        outcome.result = parser.feed(chunk, consumed);
        if (consumed > chunk.size()) std::abort();
        if (outcome.result == cgihost::CgiResponseParser::Result::done) {
            outcome.body += chunk.substr(consumed);
        }
    }
    if (outcome.result == cgihost::CgiResponseParser::Result::need_more) {
        outcome.result = parser.finish();
    }
    if (outcome.result == cgihost::CgiResponseParser::Result::done) outcome.head = parser.head();
    return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
    if (size < 1) return 0;
    // The first byte says how many of the following bytes choose the cut points.
    size_t cut_bytes = std::min<size_t>(bytes[0] % 16, size - 1);
    std::string_view cuts(reinterpret_cast<const char*>(bytes + 1), cut_bytes);
    std::string_view data(reinterpret_cast<const char*>(bytes + 1 + cut_bytes),
                          size - 1 - cut_bytes);
    Outcome whole = parse(data, {});
    Outcome split = parse(data, cuts);
    if (whole.result != split.result || !(whole.head == split.head) || whole.body != split.body) {
        std::abort();
    }
    if (whole.result == cgihost::CgiResponseParser::Result::done) {
        for (const auto& [name, value] : whole.head.headers) {
            for (char c : name + value) {
                if (c == '\r' || c == '\n' || c == '\0') std::abort();  // response splitting
            }
        }
    }
    return 0;
}
