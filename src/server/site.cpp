#include "server/site.hpp"

#include <unistd.h>

#include <filesystem>

namespace cgihost {
std::string real_directory(const std::string& path) {
    std::error_code error;
    auto resolved = std::filesystem::canonical(path, error);
    return error ? std::string() : resolved.string();
}

namespace {

ResolverConfig make_resolver_config(const Config& config) {
    ResolverConfig resolver;
    resolver.docroot = real_directory(config.docroot);
    resolver.cgi_dir = real_directory(config.cgi_dir);
    resolver.cgi_url_prefix = config.cgi_url;
    while (resolver.cgi_url_prefix.size() > 1 && resolver.cgi_url_prefix.back() == '/') {
        resolver.cgi_url_prefix.pop_back();
    }
    resolver.index_files = config.index_files;
    resolver.serve_dotfiles = config.serve_dotfiles;
    resolver.follow_symlinks_outside = config.follow_symlinks_outside;
    resolver.cgi_follow_symlinks = config.cgi_follow_symlinks;
    for (const auto& handler : config.cgi_handlers) {
        auto equals = handler.find('=');
        resolver.cgi_extension_handlers[handler.substr(0, equals)] = handler.substr(equals + 1);
    }
    return resolver;
}

}  // namespace

std::variant<std::shared_ptr<const Site>, std::string> build_site(
    Config config, const SiteInvariants& invariants,
    const std::function<void(const std::string&)>& warn, const Site* running) {
    // The TLS key is the server's secret: a script that could read it could impersonate the
    // site. Only checkable when scripts run as a user of their own.
    if (invariants.run_as && !config.tls_key.empty() &&
        check_reachable(config.tls_key, *invariants.run_as, R_OK).empty()) {
        return "--tls-key '" + config.tls_key + "' is readable by the scripts' user " +
               invariants.run_as->name +
               "; make it readable by root only (chmod 600), or also by the server's group "
               "(e.g. ssl-cert, chmod 640) so that SIGHUP can reload it";
    }
    auto site = std::make_shared<Site>();
    site->resolver = make_resolver_config(config);
    if (site->resolver.docroot.empty()) return "--docroot '" + config.docroot + "' does not exist";
    if (site->resolver.cgi_dir.empty()) {
        warn("--cgi-dir '" + config.cgi_dir + "' does not exist; CGI requests will get 404");
    }
    auto access = load_access_policy(config, warn, running != nullptr ? &running->access : nullptr);
    if (auto* error = std::get_if<std::string>(&access)) return *error;
    site->access = std::get<AccessPolicy>(std::move(access));
    site->mime_types = MimeTypes::with_builtin_defaults();
    if (!site->mime_types.load_file(config.mime_types) && running != nullptr) {
        warn("--mime-types '" + config.mime_types +
             "' cannot be read; types come from the built-in table alone");
    }
    site->limits = {config.max_uri_size, config.max_header_size};
    site->static_options = {config.directory_listing};
    site->cgi = make_cgi_settings(config);
    site->cgi.run_as = invariants.run_as;
    site->cgi.limits.open_files = invariants.open_files;
    site->intake = make_intake_settings(config);
    site->config = std::move(config);
    return std::shared_ptr<const Site>(std::move(site));
}

std::vector<std::string> keep_restart_only_options(const Config& running, Config& loaded) {
    std::vector<std::string> changed;
    auto keep = [&](auto member, const char* flag) {
        if (running.*member == loaded.*member) return;
        changed.emplace_back(flag);
        loaded.*member = running.*member;
    };
    keep(&Config::listen, "--listen");
    keep(&Config::listen_tls, "--listen-tls");
    loaded.listen_addresses = running.listen_addresses;
    loaded.listen_tls_addresses = running.listen_tls_addresses;
    keep(&Config::threads, "--threads");
    keep(&Config::user, "--user");
    keep(&Config::group, "--group");
    keep(&Config::cgi_user, "--cgi-user");
    keep(&Config::cgi_group, "--cgi-group");
    keep(&Config::access_log, "--access-log");
    keep(&Config::error_log, "--error-log");
    keep(&Config::access_log_format, "--access-log-format");
    keep(&Config::status_url, "--status-url");
    keep(&Config::metrics_url, "--metrics-url");
    keep(&Config::health_url, "--health-url");
    keep(&Config::shutdown_delay, "--shutdown-delay");
    keep(&Config::max_connections, "--max-connections");
    keep(&Config::max_body_memory, "--max-body-memory");
    keep(&Config::max_header_size, "--max-header-size");
    keep(&Config::max_uri_size, "--max-uri-size");
    keep(&Config::read_timeout, "--read-timeout");
    keep(&Config::shutdown_grace, "--shutdown-grace");
    keep(&Config::cgi_max_processes, "--cgi-max-processes");
    keep(&Config::cgi_max_per_client, "--cgi-max-per-client");
    keep(&Config::cgi_queue, "--cgi-queue");
    keep(&Config::auth_max_failures, "--auth-max-failures");
    keep(&Config::auth_failure_window, "--auth-failure-window");
    keep(&Config::auth_max_delay, "--auth-max-delay");
    keep(&Config::auth_verify_queue, "--auth-verify-queue");
    return changed;
}

}  // namespace cgihost
