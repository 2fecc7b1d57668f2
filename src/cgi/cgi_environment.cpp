#include "cgi/cgi_environment.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "http/http_message.hpp"

#include "http/url_codec.hpp"

namespace cgihost {
namespace {

char to_upper_ascii(char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}
char to_lower_ascii(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string to_upper_ascii(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) { return to_upper_ascii(c); });
    return out;
}

std::string to_lower_ascii(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) { return to_lower_ascii(c); });
    return out;
}

bool is_alnum_ascii(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string_view trim_whitespace(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

// An envp under construction: "NAME=value" strings, each built with one allocation.
// RFC 3875 §4.1: meta-variable names are case-insensitive and no two may differ in case only.
// The names the server derives are distinct by construction — the RFC and extra names are
// fixed and differ, no fixed name starts with "HTTP_", and add_header_variables merges
// repeated headers first — so those are simply added. Only the administrator's names (PATH,
// pass, set) may repeat one of them, and set() replaces that entry in place, name spelling
// included; a linear search is fine for the few configured names.
class EnvironmentBuilder {
  public:
    explicit EnvironmentBuilder(size_t expected_entries) { entries_.reserve(expected_entries); }

    void add(std::string_view name, std::string_view value) {
        if (!is_valid_name(name)) return;
        entries_.push_back(make_entry(name, value));
    }

    void set(std::string_view name, std::string_view value) {
        if (!is_valid_name(name)) return;
        for (std::string& entry : entries_) {
            bool same_name =
                entry.size() > name.size() && entry[name.size()] == '=' &&
                equals_ignore_case(std::string_view(entry).substr(0, name.size()), name);
            if (same_name) {
                entry = make_entry(name, value);
                return;
            }
        }
        entries_.push_back(make_entry(name, value));
    }

    std::vector<std::string> take_envp() { return std::move(entries_); }

  private:
    // A name with '=' or NUL would be split or cut short by the script's libc: it is dropped.
    static bool is_valid_name(std::string_view name) {
        return !name.empty() && name.find_first_of(std::string_view("=\0", 2)) == name.npos;
    }

    // envp strings end at the first NUL, so a NUL inside a value would silently truncate it;
    // those bytes are removed rather than let a client choose where a value ends.
    static std::string make_entry(std::string_view name, std::string_view value) {
        std::string entry;
        entry.reserve(name.size() + 1 + value.size());
        entry.append(name).append(1, '=').append(value);
        if (value.find('\0') != value.npos) {
            entry.erase(std::remove(entry.begin() + static_cast<std::ptrdiff_t>(name.size()) + 1,
                                    entry.end(), '\0'),
                        entry.end());
        }
        return entry;
    }

    std::vector<std::string> entries_;
};

std::string bracket_if_ipv6(std::string_view address) {
    if (address.find(':') == address.npos) return std::string(address);
    std::string bracketed;
    bracketed.reserve(address.size() + 2);
    bracketed.append(1, '[').append(address).append(1, ']');
    return bracketed;
}

// RFC 3875 §4.1.14: SERVER_NAME is a hostname (RFC 1034 letters, digits, '-', '.'; we also
// allow '_', common on internal networks) or a bracketed IP literal. Anything else in the Host
// header is not echoed to the script.
bool is_valid_server_name(std::string_view name) {
    if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
        auto literal = name.substr(1, name.size() - 2);
        return std::all_of(literal.begin(), literal.end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                   c == ':' || c == '.';
        });
    }
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return is_alnum_ascii(c) || c == '-' || c == '.' || c == '_';
    });
}

// Splits "host[:port]" (RFC 9110 §7.2, RFC 3986 §3.2.2) and returns the lower-cased host, or
// nullopt when the value is malformed.
std::optional<std::string> host_name_from_header(std::string_view host) {
    host = trim_whitespace(host);
    // An IP literal is bracketed because it contains ':' itself (RFC 3986 §3.2.2).
    size_t name_end = host.starts_with('[') ? host.find(']') : host.find(':');
    if (host.starts_with('[')) {
        if (name_end == host.npos) return std::nullopt;
        ++name_end;
    }
    name_end = std::min(name_end, host.size());
    std::string_view port = host.substr(name_end);
    if (!port.empty()) {
        if (port.front() != ':') return std::nullopt;
        port.remove_prefix(1);
        if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return std::nullopt;
        }
    }
    std::string_view name = host.substr(0, name_end);
    if (!is_valid_server_name(name)) return std::nullopt;
    return to_lower_ascii(name);
}

// RFC 3875 §4.1.14: the name the client used (the Host header, without its port) so scripts
// build self-referencing URLs that work for that client; the first Host header wins. With no
// usable Host (HTTP/1.0 clients may omit it) fall back to the address the connection arrived on.
// With --server-name, a Host that is not one of ours gives way to the canonical name.
std::string server_name_for(const CgiRequestInfo& request, const ServerNames& names) {
    std::optional<std::string> requested;
    if (const std::string* host = find_header(request.headers, "Host")) {
        requested = host_name_from_header(*host);
    }
    return choose_server_name(names, requested, bracket_if_ipv6(request.server_addr));
}

// RFC 3875 §4.1.6: PATH_INFO mapped through the document root, without doubling the '/'.
std::string path_translated_for(const CgiRequestInfo& request) {
    std::string_view root = request.document_root;
    while (root.ends_with('/'))
        root.remove_suffix(1);
    return std::string(root) + request.path_info;
}

void add_rfc3875_variables(EnvironmentBuilder& env, const CgiRequestInfo& request,
                           const CgiEnvironmentConfig& config) {
    if (!request.auth_type.empty()) env.add("AUTH_TYPE", request.auth_type);  // §4.1.1
    // §4.1.2: only when a body was attached; a bodyless GET gets no CONTENT_LENGTH at all. The
    // value is the de-chunked length, since the script reads exactly that many bytes.
    if (request.has_body) env.add("CONTENT_LENGTH", std::to_string(request.content_length));
    // §4.1.3: the server MUST set CONTENT_TYPE when the request carried one (first one wins).
    const std::string* content_type = find_header(request.headers, "Content-Type");
    if (content_type && !content_type->empty()) env.add("CONTENT_TYPE", *content_type);
    env.add("GATEWAY_INTERFACE", "CGI/1.1");  // §4.1.4
    if (!request.path_info.empty()) {
        env.add("PATH_INFO", request.path_info);                   // §4.1.5
        env.add("PATH_TRANSLATED", path_translated_for(request));  // §4.1.6
    }
    env.add("QUERY_STRING", request.query_string);  // §4.1.7: MUST be set, "" when absent
    env.add("REMOTE_ADDR", request.remote_addr);    // §4.1.8
    // §4.1.9: no reverse DNS (slow, and spoofable); the RFC lets REMOTE_ADDR stand in.
    env.add("REMOTE_HOST", request.remote_addr);
    // §4.1.10 REMOTE_IDENT is never set: we do not run ident (RFC 1413) lookups.
    if (!request.remote_user.empty()) env.add("REMOTE_USER", request.remote_user);  // §4.1.11
    env.add("REQUEST_METHOD", request.method);                                      // §4.1.12
    env.add("SCRIPT_NAME", request.script_name);                                    // §4.1.13
    env.add("SERVER_NAME", server_name_for(request, config.server_names));          // §4.1.14
    // §4.1.15: the port the connection arrived on, always — even the default 80 or 443.
    env.add("SERVER_PORT", std::to_string(request.server_port));
    env.add("SERVER_PROTOCOL", request.protocol);        // §4.1.16
    env.add("SERVER_SOFTWARE", config.server_software);  // §4.1.17
}

// RFC 3875 §4.1.18: the HTTP_* name for a request header, or nullopt when it must not be passed.
std::optional<std::string> header_variable_name(std::string_view header,
                                                const CgiEnvironmentConfig& config) {
    // Names outside the RFC 9110 §5.6.2 token set cannot be valid headers; and a '_' would let
    // "Content_Type" or "X_Forwarded_For" impersonate the '-' header of the same variable name.
    if (!is_http_token(header) || header.find('_') != header.npos) return std::nullopt;
    // §4.1.18: these already have their own meta-variables (§4.1.2, §4.1.3).
    if (equals_ignore_case(header, "Content-Length") ||
        equals_ignore_case(header, "Content-Type")) {
        return std::nullopt;
    }
    // "httpoxy" (CVE-2016-5385): HTTP_PROXY would be read by many HTTP client libraries as the
    // outgoing proxy, letting any client redirect the script's own requests.
    if (equals_ignore_case(header, "Proxy")) return std::nullopt;
    // §4.1.18: the server SHOULD remove fields carrying authentication information.
    if (!config.pass_authorization && (equals_ignore_case(header, "Authorization") ||
                                       equals_ignore_case(header, "Proxy-Authorization"))) {
        return std::nullopt;
    }
    // §4.1.18 lets the server drop hop-by-hop fields such as Connection; we keep them, because
    // scripts may legitimately look at them and they carry nothing the script could misuse.
    std::string name = "HTTP_" + to_upper_ascii(header);
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

// RFC 3875 §4.1.18: repeated fields MUST be rewritten as one value with the same meaning. That is
// ", " for list-valued fields (RFC 9110 §5.3), but Cookie pairs are separated by "; " (RFC 6265
// §5.4). Grouping by variable name is grouping by field name ignoring case, since '_' is refused.
void add_header_variables(EnvironmentBuilder& env, const CgiRequestInfo& request,
                          const CgiEnvironmentConfig& config) {
    std::vector<std::pair<std::string, std::string>> joined;  // in first-arrival order
    // No reallocation can happen, so the keys may view the names stored in `joined`.
    joined.reserve(request.headers.size());
    std::unordered_map<std::string_view, size_t> slot_of;
    for (const auto& [header, value] : request.headers) {
        auto name = header_variable_name(header, config);
        if (!name) continue;
        auto found = slot_of.find(*name);
        if (found == slot_of.end()) {
            joined.emplace_back(std::move(*name), value);
            slot_of.emplace(joined.back().first, joined.size() - 1);
            continue;
        }
        std::string& combined = joined[found->second].second;
        combined += equals_ignore_case(header, "Cookie") ? "; " : ", ";
        combined += value;
    }
    for (const auto& [name, value] : joined)
        env.add(name, value);
}

// Not in RFC 3875 but expected by real scripts (Apache's names, which PHP and most frameworks
// read). §4.1 asks extensions to use an "X_" prefix; compatibility wins here.
void add_extra_variables(EnvironmentBuilder& env, const CgiRequestInfo& request) {
    env.add("REQUEST_URI", request.request_uri);
    env.add("SCRIPT_FILENAME", request.script_filename);
    env.add("DOCUMENT_ROOT", request.document_root);
    env.add("REMOTE_PORT", std::to_string(request.remote_port));
    env.add("SERVER_ADDR", request.server_addr);
    env.add("REQUEST_SCHEME", request.https ? "https" : "http");
    if (request.https) {
        env.add("HTTPS", "on");
        env.add("SSL_PROTOCOL", request.ssl_protocol);
        env.add("SSL_CIPHER", request.ssl_cipher);
        if (!request.ssl_tls_sni.empty()) env.add("SSL_TLS_SNI", request.ssl_tls_sni);
    }
    // php-cgi's force-cgi-redirect refuses to run without it; it means "not a redirect".
    env.add("REDIRECT_STATUS", "200");
}

// The administrator's additions, applied last so they override everything derived above.
void add_configured_variables(EnvironmentBuilder& env, const CgiEnvironmentConfig& config,
                              const std::function<const char*(const char*)>& server_getenv) {
    if (!config.path.empty()) env.set("PATH", config.path);
    for (const std::string& name : config.pass) {
        // Only names actually present: an unset variable stays unset rather than becoming "".
        if (const char* value = server_getenv(name.c_str())) env.set(name, value);
    }
    for (const auto& [name, value] : config.set)
        env.set(name, value);
}

}  // namespace

std::vector<std::string> build_cgi_environment(
    const CgiRequestInfo& request, const CgiEnvironmentConfig& config,
    const std::function<const char*(const char*)>& server_getenv) {
    // The fixed variables, one per header at most, and the configured ones.
    constexpr size_t kFixedVariables = 24;
    EnvironmentBuilder env(kFixedVariables + request.headers.size() + config.pass.size() +
                           config.set.size() + 1);
    add_rfc3875_variables(env, request, config);
    add_header_variables(env, request, config);
    add_extra_variables(env, request);
    add_configured_variables(env, config, server_getenv);
    return env.take_envp();
}

std::vector<std::string> build_cgi_argv(std::string_view script_path, std::string_view method,
                                        std::string_view query_string) {
    std::vector<std::string> argv{std::string(script_path)};
    // §4.4: only "indexed" queries (GET/HEAD, no unencoded '=') produce a command line.
    if (method != "GET" && method != "HEAD") return argv;
    if (query_string.empty() || query_string.find('=') != query_string.npos) return argv;
    std::vector<std::string> words;
    size_t start = 0;
    while (start <= query_string.size()) {
        size_t plus = std::min(query_string.find('+', start), query_string.size());
        // §4.4: search-word = 1*schar, and the server MUST NOT generate any command line if it
        // cannot build every word — so an empty word, a bad escape or a NUL (which argv cannot
        // carry) leaves argv with the script alone. Words go to execve verbatim: §7.2's shell
        // escaping only made sense when a shell parsed the command line, and none does here.
        auto word = percent_decode(query_string.substr(start, plus - start));
        if (!word || word->empty() || word->find('\0') != word->npos) return argv;
        words.push_back(std::move(*word));
        start = plus + 1;
    }
    argv.insert(argv.end(), words.begin(), words.end());
    return argv;
}

}  // namespace cgihost
