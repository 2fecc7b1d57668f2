// URL-path prefixes that rules (--allow, --basic-auth) apply to. Requests are matched on their
// decoded, normalised path (normalize_url_path), on segment boundaries, so `/admin` covers
// `/admin` and `/admin/x` but not `/administrator`, and `/x/../admin` is `/admin`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cgihost {

// A prefix from the configuration in the form requests are compared in: it must start with
// '/', is percent-decoded and normalised like a request path, and loses its trailing '/'
// ("/admin/" → "/admin"; "/" stays "/"). nullopt when it is not a usable URL path.
std::optional<std::string> normalize_rule_prefix(std::string_view text);

// Whether `path` (normalised) is `prefix` (normalised) or lies below it on a segment boundary.
bool prefix_covers(std::string_view prefix, std::string_view path);

// The rule whose `prefix` member covers `path` and is the longest; nullptr when none does.
template <class Rule>
const Rule* find_longest_prefix(const std::vector<Rule>& rules, std::string_view path) {
    const Rule* best = nullptr;
    for (const Rule& rule : rules) {
        if (prefix_covers(rule.prefix, path) &&
            (best == nullptr || rule.prefix.size() > best->prefix.size())) {
            best = &rule;
        }
    }
    return best;
}

}  // namespace cgihost
