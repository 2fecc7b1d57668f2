// libFuzzer target: what a client or an administrator hands Basic authentication and the access
// rules. The first byte picks the parser; the rest is its input.
// Properties:
// - decode_base64 accepts only canonical base64: encoding what it decoded gives the input back;
// - parsed credentials hold no control byte, the user no ':', and they survive a round trip
//   through a header of our own making;
// - every user parse_htpasswd keeps has an accepted hash, and a name with no ':';
// - a parsed access rule's prefix is normalised (normalising it again changes nothing), and
//   is_address_allowed answers for any address without trouble.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/http_message.hpp"
#include "security/access_rules.hpp"
#include "security/basic_credentials.hpp"
#include "security/htpasswd.hpp"
#include "security/password_hash.hpp"
#include "security/path_prefix.hpp"

namespace {

std::string encode_base64(std::string_view bytes) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    uint32_t bits = 0;
    int count = 0;
    for (char c : bytes) {
        bits = (bits << 8) | static_cast<uint8_t>(c);
        count += 8;
        while (count >= 6) {
            count -= 6;
            out += kAlphabet[(bits >> count) & 63];
        }
    }
    if (count > 0) out += kAlphabet[(bits << (6 - count)) & 63];
    while (out.size() % 4 != 0)
        out += '=';
    return out;
}

bool has_control_byte(std::string_view text) {
    for (char c : text) {
        if (cgihost::is_control_byte(c)) return true;
    }
    return false;
}

void check_base64(std::string_view input) {
    auto decoded = cgihost::decode_base64(input);
    if (decoded && encode_base64(*decoded) != input) std::abort();
}

void check_credentials(std::string_view input) {
    auto credentials = cgihost::parse_basic_authorization(input);
    if (!credentials) return;
    if (has_control_byte(credentials->user) || has_control_byte(credentials->password) ||
        credentials->user.find(':') != std::string::npos) {
        std::abort();
    }
    auto again = cgihost::parse_basic_authorization(
        "Basic " + encode_base64(credentials->user + ":" + credentials->password));
    if (!again || again->user != credentials->user || again->password != credentials->password) {
        std::abort();
    }
}

void check_htpasswd(std::string_view input) {
    auto parsed = cgihost::parse_htpasswd(input, "fuzz");
    auto* file = std::get_if<cgihost::Htpasswd>(&parsed);
    if (file == nullptr) return;
    for (const auto& [user, hash] : file->users) {
        if (user.empty() || user.find(':') != std::string::npos) std::abort();
        if (!cgihost::identify_password_hash(hash).accepted) std::abort();
    }
}

void check_access_rule(std::string_view input) {
    auto parsed = cgihost::parse_access_rule(input);
    auto* rule = std::get_if<cgihost::AccessRule>(&parsed);
    if (rule == nullptr) return;
    if (cgihost::normalize_rule_prefix(rule->prefix) != rule->prefix) std::abort();
    if (rule->allowed.empty()) std::abort();
    std::vector<cgihost::AccessRule> rules{*rule};
    for (const char* address : {"127.0.0.1", "::1", "10.1.2.3", "::ffff:10.1.2.3", "junk"}) {
        (void)cgihost::is_address_allowed(rules, rule->prefix, address);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
    if (size == 0) return 0;
    std::string_view input(reinterpret_cast<const char*>(bytes) + 1, size - 1);
    switch (bytes[0] % 4) {
        case 0:
            check_base64(input);
            break;
        case 1:
            check_credentials(input);
            break;
        case 2:
            check_htpasswd(input);
            break;
        default:
            check_access_rule(input);
            break;
    }
    return 0;
}
