#include "same_origin.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include "request.hpp"

namespace samples {
namespace {

std::string lower_case(std::string_view text) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower;
}

bool all_digits(std::string_view text) {
    return !text.empty() && text.size() <= 5 &&
           std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

const char* header(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? value : nullptr;
}

}  // namespace

std::optional<std::string> origin_of(std::string_view url) {
    size_t separator = url.find("://");
    if (separator == std::string_view::npos) return std::nullopt;
    std::string scheme = lower_case(url.substr(0, separator));
    if (scheme != "http" && scheme != "https") return std::nullopt;
    std::string_view authority = url.substr(separator + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
        authority.remove_prefix(at + 1);  // user:password@ never names the origin
    }
    // An IPv6 literal is bracketed because it holds ':' itself (RFC 3986 §3.2.2).
    size_t host_end = authority.starts_with('[') ? authority.find(']') : authority.find(':');
    if (authority.starts_with('[')) {
        if (host_end == std::string_view::npos) return std::nullopt;
        ++host_end;
    }
    host_end = std::min(host_end, authority.size());
    std::string_view host = authority.substr(0, host_end);
    std::string_view port = authority.substr(host_end);
    if (host.empty()) return std::nullopt;
    if (port.starts_with(':')) port.remove_prefix(1);
    if (!port.empty() && !all_digits(port)) return std::nullopt;
    std::string explicit_port = !port.empty() ? std::to_string(std::atoi(std::string(port).c_str()))
                                              : (scheme == "https" ? "443" : "80");
    return scheme + "://" + lower_case(host) + ':' + explicit_port;
}

void require_same_origin() {
    const char* claimed = header("HTTP_ORIGIN");
    if (claimed == nullptr) claimed = header("HTTP_REFERER");
    if (claimed == nullptr) return;
    const char* https = std::getenv("HTTPS");
    const char* name = header("SERVER_NAME");
    const char* port = header("SERVER_PORT");
    std::string scheme = https != nullptr && std::strcmp(https, "on") == 0 ? "https" : "http";
    std::optional<std::string> ours =
        origin_of(scheme + "://" + (name ? name : "") + ':' + (port ? port : ""));
    if (!ours || origin_of(claimed) != ours) {
        throw RequestError(403, "Forbidden",
                           "This request came from a page of another site. Only pages of this "
                           "server (" +
                               ours.value_or("?") + ") may send it.");
    }
}

}  // namespace samples
