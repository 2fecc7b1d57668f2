#include "http/https_redirect.hpp"

#include "http/http_status.hpp"

namespace cgihost {
namespace {

constexpr uint16_t kDefaultHttpsPort = 443;

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-';
}

bool is_ipv6_literal_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
}

bool all_of(std::string_view text, bool (*allowed)(char)) {
    for (char c : text) {
        if (!allowed(c)) return false;
    }
    return !text.empty();
}

bool is_port(std::string_view text) {
    if (text.empty() || text.size() > 5) return false;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

}  // namespace

// RFC 9110 §7.2: Host = uri-host [ ":" port ]; uri-host is a reg-name or an IP literal.
std::optional<std::string> host_without_port(std::string_view host_header) {
    if (!host_header.empty() && host_header.front() == '[') {
        const size_t close = host_header.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        const std::string_view rest = host_header.substr(close + 1);
        if (!rest.empty() && (rest.front() != ':' || !is_port(rest.substr(1)))) return std::nullopt;
        if (!all_of(host_header.substr(1, close - 1), is_ipv6_literal_char)) return std::nullopt;
        return std::string(host_header.substr(0, close + 1));
    }
    const size_t colon = host_header.find(':');
    const std::string_view host = host_header.substr(0, colon);
    if (colon != std::string_view::npos && !is_port(host_header.substr(colon + 1)))
        return std::nullopt;
    if (!all_of(host, is_name_char)) return std::nullopt;
    return std::string(host);
}

std::optional<std::string> https_url(const Request& request, uint16_t https_port,
                                     std::string_view fallback_host, const ServerNames& names) {
    std::optional<std::string> host;
    if (const std::string* header = request.header("Host"); header != nullptr && !header->empty()) {
        host = host_without_port(*header);
        if (host) {
            for (char& c : *host)
                if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        }
        if (!host && names.canonical.empty()) return std::nullopt;
    }
    std::string connection_host(fallback_host);
    if (fallback_host.find(':') != std::string_view::npos)
        connection_host = "[" + connection_host + "]";
    std::string chosen = choose_server_name(names, host, connection_host);
    if (chosen.empty()) return std::nullopt;
    host = std::move(chosen);
    std::string url = "https://" + *host;
    if (https_port != kDefaultHttpsPort) url += ":" + std::to_string(https_port);
    // The path and query as received (an absolute-form target's own scheme and host go).
    url += request.path.empty() ? "/" : request.path;
    if (request.has_query) url += "?" + request.query;
    return url;
}

Response make_https_redirect(const Request& request, uint16_t https_port,
                             std::string_view fallback_host, const ServerNames& names) {
    auto url = https_url(request, https_port, fallback_host, names);
    if (!url) return make_error_response(status::bad_request, "The Host header is not valid.");
    Response response;
    response.status = status::permanent_redirect;
    response.add_header("Location", *url);
    response.add_header("Content-Type", "text/plain; charset=utf-8");
    response.body = "This site is served over HTTPS: " + *url + "\n";
    return response;
}

std::string hsts_header_value(uint64_t max_age_seconds) {
    return "max-age=" + std::to_string(max_age_seconds);
}

}  // namespace cgihost
