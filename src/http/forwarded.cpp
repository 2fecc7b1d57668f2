#include "http/forwarded.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace cgihost {
namespace {

constexpr uint8_t kIpv4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// One hop of a forwarding list: an address, or a hop the proxy would not or could not name
// (RFC 7239 §6.2 "unknown", §6.3 obfuscated identifiers).
struct Node {
    std::optional<IpAddress> address;
    uint16_t port = 0;
};

// One element of a forwarding list, reduced to what we use.
struct Hop {
    Node node;
    std::optional<bool> https;
};

std::string format_ip_address(const IpAddress& address) {
    char text[INET6_ADDRSTRLEN] = "";
    if (std::memcmp(address.data(), kIpv4MappedPrefix, sizeof kIpv4MappedPrefix) == 0) {
        inet_ntop(AF_INET, address.data() + 12, text, sizeof text);
    } else {
        inet_ntop(AF_INET6, address.data(), text, sizeof text);
    }
    return text;
}

bool is_trusted(const std::vector<AddressRange>& trusted, const IpAddress& address) {
    return std::any_of(trusted.begin(), trusted.end(),
                       [&](const AddressRange& range) { return range.contains(address); });
}

std::string_view trim_ows(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

// Takes the last element off a comma-separated list (RFC 9110 §5.6.1) whose elements may
// hold quoted-strings, scanning from the right so that what lies left of it (the client's
// own part) is never parsed. nullopt when a quoted-string opens and does not close.
std::optional<std::string_view> take_last_element(std::string_view& list) {
    size_t pos = list.size();
    bool in_quote = false;
    for (; pos > 0; --pos) {
        const char c = list[pos - 1];
        if (c == ',' && !in_quote) break;
        if (c != '"') continue;
        size_t backslashes = 0;
        while (pos - 1 > backslashes && list[pos - 2 - backslashes] == '\\')
            ++backslashes;
        if (backslashes % 2 == 0) in_quote = !in_quote;
    }
    if (in_quote) return std::nullopt;
    std::string_view element = list.substr(pos);
    list = pos > 0 ? list.substr(0, pos - 1) : std::string_view{};
    return trim_ows(element);
}

std::optional<uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || text.size() > 5 || error != std::errc() ||
        end != text.data() + text.size() || value > 65535) {
        return std::nullopt;
    }
    return static_cast<uint16_t>(value);
}

bool is_obfuscated_identifier(std::string_view text) {
    // RFC 7239 §6.3: "_" 1*( ALPHA / DIGIT / "." / "_" / "-" )
    if (text.size() < 2 || text.front() != '_') return false;
    return std::all_of(text.begin() + 1, text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
    });
}

// "1.2.3.4", "[2001:db8::1]", either with ":port" (a number or an obfuscated port), "unknown"
// and "_hidden": RFC 7239 §6's node. `bare_ipv6`: X-Forwarded-For's "2001:db8::1" too.
std::optional<Node> parse_node(std::string_view text, bool bare_ipv6) {
    // inet_pton reads a C string: a NUL would end the address early.
    if (std::any_of(text.begin(), text.end(), is_control_byte)) return std::nullopt;
    if (equals_ignore_case(text, "unknown")) return Node{};
    std::string_view host = text;
    std::string_view port;
    bool has_port = false;
    if (!text.empty() && text.front() == '[') {
        const size_t close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        if (host.find(':') == std::string_view::npos) return std::nullopt;
        const std::string_view rest = text.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') return std::nullopt;
        has_port = !rest.empty();
        port = has_port ? rest.substr(1) : rest;
    } else if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
        if (bare_ipv6 && text.find(':', colon + 1) != std::string_view::npos) {
            host = text;
        } else {
            host = text.substr(0, colon);
            port = text.substr(colon + 1);
            has_port = true;
        }
    }
    Node node;
    if (has_port && !is_obfuscated_identifier(port)) {
        auto number = parse_port(port);
        if (!number) return std::nullopt;
        node.port = *number;
    }
    if (is_obfuscated_identifier(host)) return node;
    node.address = parse_ip_address(host);
    if (!node.address) return std::nullopt;
    return node;
}

std::optional<bool> parse_scheme(std::string_view text) {
    if (equals_ignore_case(text, "https")) return true;
    if (equals_ignore_case(text, "http")) return false;
    return std::nullopt;
}

// RFC 9110 §5.6.4 quoted-string at the start of `text`: its unescaped value, and `text`
// advanced past it.
std::optional<std::string> take_quoted_string(std::string_view& text) {
    std::string value;
    for (size_t i = 1; i < text.size(); ++i) {
        char c = text[i];
        if (c == '"') {
            text.remove_prefix(i + 1);
            return value;
        }
        if (c == '\\') {
            if (++i == text.size()) return std::nullopt;
            c = text[i];
        }
        if (is_control_byte(c) && c != '\t') return std::nullopt;
        value += c;
    }
    return std::nullopt;
}

std::string_view take_token(std::string_view& text) {
    size_t length = 0;
    while (length < text.size() && is_http_token(text.substr(length, 1)))
        ++length;
    std::string_view token = text.substr(0, length);
    text.remove_prefix(length);
    return token;
}

// RFC 7239 §4: forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] ),
// forwarded-pair = token "=" value, each parameter at most once. Unknown parameters (and
// by=, host=) are checked for syntax and otherwise ignored.
std::optional<Hop> parse_forwarded_element(std::string_view text) {
    Hop hop;
    bool seen_for = false;
    std::vector<std::string> seen;
    while (!text.empty()) {
        if (text.front() == ';') {
            text.remove_prefix(1);
            continue;
        }
        std::string_view name = take_token(text);
        if (name.empty() || text.empty() || text.front() != '=') return std::nullopt;
        text.remove_prefix(1);
        std::string value;
        if (!text.empty() && text.front() == '"') {
            auto quoted = take_quoted_string(text);
            if (!quoted) return std::nullopt;
            value = std::move(*quoted);
        } else {
            value = std::string(take_token(text));
            if (value.empty()) return std::nullopt;
        }
        if (!text.empty() && text.front() != ';') return std::nullopt;
        std::string lower(name);
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (std::find(seen.begin(), seen.end(), lower) != seen.end()) return std::nullopt;
        seen.push_back(lower);
        if (lower == "for") {
            auto node = parse_node(value, false);
            if (!node) return std::nullopt;
            hop.node = *node;
            seen_for = true;
        } else if (lower == "proto") {
            hop.https = parse_scheme(value);
        }
    }
    if (!seen_for) return std::nullopt;  // a hop that names no one cannot be walked past
    return hop;
}

// The values of every field called `name`, in arrival order.
std::vector<std::string_view> field_values(const HeaderList& headers, std::string_view name) {
    std::vector<std::string_view> values;
    for (const auto& [field, value] : headers) {
        if (!equals_ignore_case(field, name)) continue;
        values.emplace_back(value);
    }
    return values;
}

ForwardedClient failure(std::string problem) {
    ForwardedClient client;
    client.problem = std::move(problem);
    return client;
}

ForwardedClient make_client(const Hop& hop) {
    ForwardedClient client;
    client.address = format_ip_address(*hop.node.address);
    client.port = hop.node.port;
    client.https = hop.https;
    return client;
}

std::optional<Hop> parse_hop(std::string_view element, bool forwarded) {
    if (forwarded) return parse_forwarded_element(element);
    auto node = parse_node(element, true);
    if (!node) return std::nullopt;
    return Hop{*node, std::nullopt};
}

// Walks the hops from the right: trusted proxies are passed, the first other address is
// the client. Reading stops there, so the client's own entries further left never count.
ForwardedClient walk_hops(const std::vector<std::string_view>& fields, bool forwarded,
                          const std::vector<AddressRange>& trusted) {
    std::optional<Hop> chosen;
    size_t hops = 0;
    for (auto field = fields.rbegin(); field != fields.rend(); ++field) {
        std::string_view list = *field;
        while (!trim_ows(list).empty()) {
            auto element = take_last_element(list);
            if (!element) return failure("an unterminated quoted-string");
            if (element->empty()) continue;
            if (++hops > kMaxForwardedHops) return failure("too many hops");
            if (element->size() > kMaxForwardedElementBytes) {
                return failure("an entry longer than " + std::to_string(kMaxForwardedElementBytes) +
                               " bytes");
            }
            std::optional<Hop> hop = parse_hop(*element, forwarded);
            if (!hop)
                return failure("a malformed entry '" + std::string(element->substr(0, 64)) + "'");
            // RFC 7239 §6.2, §6.3: a hop we cannot name ends the walk; we keep the peer.
            if (!hop->node.address) return failure("the client is unknown or obfuscated");
            chosen = hop;
            if (!is_trusted(trusted, *hop->node.address)) return make_client(*chosen);
        }
    }
    if (chosen) return make_client(*chosen);  // every hop is a trusted proxy: the first one
    return {};
}

// X-Forwarded-Proto: one field holding "http" or "https".
std::optional<bool> find_forwarded_proto(const HeaderList& headers, std::string* problem) {
    std::vector<std::string_view> values = field_values(headers, "X-Forwarded-Proto");
    if (values.empty()) return std::nullopt;
    std::optional<bool> https;
    if (values.size() == 1) https = parse_scheme(trim_ows(values.front()));
    if (!https) *problem = "X-Forwarded-Proto is not one 'http' or 'https'";
    return https;
}

}  // namespace

ForwardedClient find_forwarded_client(const HeaderList& headers, std::string_view peer,
                                      const std::vector<AddressRange>& trusted) {
    auto peer_address = parse_ip_address(peer);
    if (trusted.empty() || !peer_address || !is_trusted(trusted, *peer_address)) return {};
    std::vector<std::string_view> fields = field_values(headers, "Forwarded");
    const bool forwarded = !fields.empty();
    const char* name = forwarded ? "Forwarded" : "X-Forwarded-For";
    if (!forwarded) fields = field_values(headers, name);
    ForwardedClient client = walk_hops(fields, forwarded, trusted);
    if (!client.problem.empty()) client.problem = std::string(name) + ": " + client.problem;
    if (!forwarded) {
        std::string problem;
        client.https = find_forwarded_proto(headers, &problem);
        if (client.problem.empty()) client.problem = problem;
    }
    return client;
}

std::optional<std::vector<AddressRange>> parse_trusted_proxies(
    const std::vector<std::string>& values, std::string* error) {
    std::vector<AddressRange> ranges;
    for (const std::string& value : values) {
        std::string_view list = value;
        while (true) {
            const size_t comma = list.find(',');
            const std::string_view item = trim_ows(list.substr(0, comma));
            auto range = parse_address_range(item);
            if (!range) {
                *error = "'" + std::string(item) + "' is not an IP address or CIDR range";
                return std::nullopt;
            }
            ranges.push_back(*range);
            if (comma == std::string_view::npos) break;
            list.remove_prefix(comma + 1);
        }
    }
    return ranges;
}

}  // namespace cgihost
