#include "server/config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>

#include "http/forwarded.hpp"
#include "http/http_message.hpp"
#include "http/server_names.hpp"
#include "security/access_rules.hpp"
#include "security/auth_rules.hpp"
#include "server/version.hpp"

namespace cgihost {
namespace {

void add_cgi_options(CLI::App& app, Config& c);
void add_cgi_admission_options(CLI::App& app, Config& c);
void add_privilege_options(CLI::App& app, Config& c);
void add_tls_options(CLI::App& app, Config& c);
void add_access_options(CLI::App& app, Config& c);
void add_status_options(CLI::App& app, Config& c);
void add_load_balancer_options(CLI::App& app, Config& c);
std::string check_directory(const char* key, const std::string& path);

// Adds every option. The long flag name is also the config-file key, so users can script
// against either; "--help" prints each default.
void add_options(CLI::App& app, Config& c) {
    app.option_defaults()->always_capture_default();
    const CLI::AsSizeValue sizes(false);  // accepts "16KiB", "64M" or plain bytes

    app.add_option("--listen", c.listen, "Address to listen on, host:port or [v6]:port; repeatable")
        ->take_all();
    app.add_option("--docroot", c.docroot, "Directory of static files");
    app.add_option("--index-files", c.index_files, "File names tried for a directory URL")
        ->take_all();
    app.add_option("--directory-listing", c.directory_listing,
                   "List directories that have no index file (else 403)");
    app.add_option("--serve-dotfiles", c.serve_dotfiles, "Serve names starting with '.'");
    app.add_option("--follow-symlinks-outside", c.follow_symlinks_outside,
                   "Serve symlinks that point outside the docroot");
    app.add_option("--file-check-interval", c.file_check_interval,
                   "Seconds a small static file held in memory is served without checking the "
                   "disk again (a change then shows up to this late); 0 = checked every request")
        ->check(CLI::Range(0.0, 60.0));
    app.add_option("--server-name", c.server_name,
                   "The site's canonical host name: scripts' SERVER_NAME, and the host of "
                   "redirects, for requests naming any host that is not ours (else the "
                   "request's Host header is believed)");
    app.add_option("--server-aliases", c.server_aliases,
                   "Other names of the site (\"*.example.org\" for any subdomain) kept as the "
                   "request named them; needs --server-name")
        ->take_all();
    app.add_option("--mime-types", c.mime_types, "mime.types file read on top of built-ins");
    app.add_option("--threads", c.threads, "Worker threads (event loops); 0 = number of cores")
        ->check(CLI::Range(0u, 256u));
    app.add_option("--cgi-dir", c.cgi_dir, "Directory holding CGI programs");
    app.add_option("--cgi-url", c.cgi_url, "URL prefix mapped onto --cgi-dir");
    add_cgi_options(app, c);
    app.add_option("--max-header-size", c.max_header_size, "Request line + headers limit (431)")
        ->transform(sizes);
    app.add_option("--max-uri-size", c.max_uri_size, "Request target limit (414)")
        ->transform(sizes);
    app.add_option("--max-body-size", c.max_body_size,
                   "Request body limit as sent, chunk framing included (413)")
        ->transform(sizes);
    app.add_option("--max-body-memory", c.max_body_memory,
                   "Request bodies held in memory by all connections together; beyond it new "
                   "bodies get 503 with Retry-After")
        ->transform(sizes);
    app.add_option("--body-spool-threshold", c.body_spool_threshold,
                   "Bodies larger than this are received into an unlinked temporary file")
        ->transform(sizes);
    app.add_option("--body-spool-dir", c.body_spool_dir,
                   "Directory for those files; empty = $TMPDIR, else /tmp");
    app.add_option("--read-timeout", c.read_timeout, "Seconds a request may stall while read")
        ->check(CLI::PositiveNumber);
    app.add_option("--header-timeout", c.header_timeout,
                   "Seconds from a request's first byte (or the connection's opening) until "
                   "its head is complete; then 408 and close")
        ->check(CLI::PositiveNumber);
    app.add_option("--body-timeout", c.body_timeout,
                   "Seconds a request body may fall behind --body-min-rate (or, with a rate of "
                   "0, may take in all); then 408 and close")
        ->check(CLI::PositiveNumber);
    app.add_option("--body-min-rate", c.body_min_rate,
                   "Bytes per second a request body must average; a fast start earns no more "
                   "than --body-timeout of slack")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--write-timeout", c.write_timeout, "Seconds a response may stall")
        ->check(CLI::PositiveNumber);
    app.add_option("--keep-alive-timeout", c.keep_alive_timeout,
                   "Seconds an idle persistent connection is kept")
        ->check(CLI::PositiveNumber);
    app.add_option("--shutdown-grace", c.shutdown_grace,
                   "Seconds in-flight requests get to finish after SIGTERM/SIGINT")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--max-connections", c.max_connections,
                   "Client connections held at once (split among the threads); beyond it new "
                   "ones wait in the listen queue. 0 = three quarters of the open-file limit")
        ->check(CLI::Range(0u, 100000000u));
    add_tls_options(app, c);
    add_privilege_options(app, c);
    add_access_options(app, c);
    add_status_options(app, c);
    add_load_balancer_options(app, c);
    app.add_option("--access-log", c.access_log, "Access log file (Combined format); - = stdout");
    app.add_option("--error-log", c.error_log, "Error log file; - = stderr");
    app.add_option("--log-level", c.log_level, "Error log level")
        ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
    app.add_option("--access-log-format", c.access_log_format,
                   "combined, or combined-cgi: script requests' lines end with the script's CPU "
                   "seconds (user + system) and peak RSS in KiB, other lines with - -")
        ->check(CLI::IsMember({"combined", "combined-cgi"}));
}

// Served by the worker after the access gate (status/).
void add_status_options(CLI::App& app, Config& c) {
    app.add_option("--status-url", c.status_url,
                   "URL path of a live status page (its numbers as JSON at PATH?json); empty = "
                   "off. Protect it with --allow or --basic-auth");
    app.add_option("--metrics-url", c.metrics_url,
                   "URL path of the same counters in the Prometheus text format; empty = off");
}

void add_cgi_options(CLI::App& app, Config& c) {
    const CLI::AsSizeValue sizes(false);
    app.add_option("--cgi-handlers", c.cgi_handlers,
                   "Extensions run as CGI anywhere in the docroot: .ext=interpreter, or .ext= "
                   "to run the file itself")
        ->take_all();
    app.add_option("--cgi-follow-symlinks", c.cgi_follow_symlinks,
                   "Run symlinks in --cgi-dir that point to executables outside it (git's "
                   "git-http-backend is deployed so); false = only as --follow-symlinks-outside");
    app.add_option("--cgi-timeout", c.cgi_timeout, "Seconds a script may stay silent on stdout")
        ->check(CLI::PositiveNumber);
    app.add_option("--cgi-max-time", c.cgi_max_time, "Seconds a script may run in all")
        ->check(CLI::PositiveNumber);
    app.add_option("--cgi-kill-grace", c.cgi_kill_grace, "Seconds from SIGTERM to SIGKILL")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--cgi-max-processes", c.cgi_max_processes,
                   "Scripts running at once; beyond it requests get 503")
        ->check(CLI::Range(1u, 1000000u));
    app.add_option("--cgi-path", c.cgi_path, "PATH given to scripts");
    app.add_option("--cgi-env-set", c.cgi_env_set, "NAME=VALUE set for every script")->take_all();
    app.add_option("--cgi-env-pass", c.cgi_env_pass, "Variables passed from cgihost's environment")
        ->take_all();
    app.add_option("--cgi-pass-authorization", c.cgi_pass_authorization,
                   "Give scripts the Authorization header as HTTP_AUTHORIZATION");
    app.add_option("--cgi-x-sendfile-root", c.cgi_x_sendfile_root,
                   "Directory whose files scripts may send with X-Sendfile; empty = off");
    app.add_option("--cgi-stderr-limit", c.cgi_stderr_limit, "stderr bytes logged per request")
        ->transform(sizes);
    app.add_option("--cgi-rlimit-cpu", c.cgi_rlimit_cpu, "RLIMIT_CPU seconds for scripts; 0 = off");
    app.add_option("--cgi-rlimit-as", c.cgi_rlimit_as, "RLIMIT_AS bytes for scripts; 0 = off")
        ->transform(sizes);
    app.add_option("--cgi-rlimit-nproc", c.cgi_rlimit_nproc,
                   "RLIMIT_NPROC for scripts; 0 = off (root is exempt)");
    add_cgi_admission_options(app, c);
}

void add_cgi_admission_options(CLI::App& app, Config& c) {
    app.add_option("--cgi-max-per-client", c.cgi_max_per_client,
                   "Scripts one client address may have running or queued; beyond it 503. "
                   "0 = no cap (behind a proxy not in --trusted-proxies, every request has the "
                   "proxy's address)")
        ->check(CLI::Range(0u, 1000000u));
    app.add_option("--cgi-queue", c.cgi_queue,
                   "Requests that wait, first come first served, for a free script slot "
                   "when --cgi-max-processes are running; beyond it 503. 0 = no queue")
        ->check(CLI::Range(0u, 1000000u));
    app.add_option("--cgi-queue-timeout", c.cgi_queue_timeout,
                   "Seconds a request may wait in the queue for a slot; then 503")
        ->check(CLI::PositiveNumber);
}

// Loaded at startup by TlsContext::load (tls_context.cpp), before privileges are dropped.
void add_tls_options(CLI::App& app, Config& c) {
    app.add_option("--listen-tls", c.listen_tls,
                   "Address to serve HTTPS on, host:port or [v6]:port; repeatable")
        ->take_all();
    app.add_option("--tls-cert", c.tls_cert,
                   "PEM file: the server's certificate followed by its chain");
    app.add_option("--tls-key", c.tls_key,
                   "PEM file: the certificate's private key (read before dropping privileges; "
                   "must not be readable by --cgi-user)");
    app.add_option("--tls-ocsp-staple", c.tls_ocsp_staple,
                   "DER OCSP response stapled to handshakes that ask for one; empty = none");
    app.add_option("--tls-min-version", c.tls_min_version,
                   "Oldest TLS version a client may use: 1.2, or 1.3 to refuse TLS 1.2 clients")
        ->check(CLI::IsMember({"1.2", "1.3"}));
    app.add_option("--redirect-to-https", c.redirect_to_https,
                   "Answer plain-HTTP requests with 308 to the same URL on the first TLS listener");
    app.add_option(
        "--hsts", c.hsts,
        "Seconds of Strict-Transport-Security max-age sent on HTTPS responses; 0 = none");
}

// Checked and resolved at startup by plan_privileges (privileges.cpp).
void add_privilege_options(CLI::App& app, Config& c) {
    app.add_option("--user", c.user,
                   "Started as root: the user to run as once sockets and logs are open (name or "
                   "id; default www-data, else nobody; root is refused)");
    app.add_option("--group", c.group, "The group to run as; default the --user's own group");
    app.add_option("--cgi-user", c.cgi_user,
                   "Started as root: the user scripts run as, never the server's (default "
                   "cgihost-cgi, else nobody)");
    app.add_option("--cgi-group", c.cgi_group, "The scripts' group; default the --cgi-user's own");
}

void add_access_options(CLI::App& app, Config& c) {
    app.add_option("--allow", c.allow,
                   "PREFIX=CIDR[,CIDR...]: only these client addresses (IPv4 or IPv6 ranges or "
                   "addresses) may use URLs under PREFIX, others get 403; repeatable, the "
                   "longest prefix wins");
    app.add_option("--basic-auth", c.basic_auth,
                   "PREFIX=HTPASSWD_FILE: URLs under PREFIX need a user and password from the "
                   "file (bcrypt, SHA-256/512-crypt); repeatable, the longest prefix wins");
    app.add_option("--basic-auth-realm", c.basic_auth_realm, "The realm named in 401 challenges");
    app.add_option("--auth-max-failures", c.auth_max_failures,
                   "Wrong passwords one client address may send within --auth-failure-window; "
                   "then 429 until it ends. 0 = never block")
        ->check(CLI::Range(0u, 1000000u));
    app.add_option("--auth-failure-window", c.auth_failure_window,
                   "Seconds over which a client's wrong passwords are counted")
        ->check(CLI::PositiveNumber);
    app.add_option("--auth-max-delay", c.auth_max_delay,
                   "Cap in seconds of the growing delay before a 401 for a wrong password "
                   "(0, 0, 0.5, 1, 2 ...); 0 = no delay")
        ->check(CLI::Range(0.0, 3600.0));
    app.add_option("--auth-verify-queue", c.auth_verify_queue,
                   "Passwords waiting to be checked; beyond it 503 with Retry-After")
        ->check(CLI::Range(1u, 1000000u));
}

std::string validate_status_urls(const Config& c) {
    for (const auto* option : {&c.status_url, &c.metrics_url}) {
        const std::string& url = *option;
        const char* key = option == &c.status_url ? "--status-url" : "--metrics-url";
        if (url.empty()) continue;
        if (url.front() != '/') return std::string(key) + ": must start with '/'";
        for (char ch : url) {
            if (ch == '?' || ch == '#' || is_control_byte(ch) || ch == ' ')
                return std::string(key) + ": must be a plain URL path";
        }
    }
    if (!c.status_url.empty() && c.status_url == c.metrics_url)
        return "--status-url and --metrics-url must differ";
    return {};
}

void add_load_balancer_options(CLI::App& app, Config& c) {
    app.add_option("--trusted-proxies", c.trusted_proxies,
                   "CIDR[,CIDR...]: proxies whose Forwarded (else X-Forwarded-For) and "
                   "X-Forwarded-Proto headers name the client, for REMOTE_ADDR, REQUEST_SCHEME, "
                   "--allow, the per-client caps and the access log; repeatable")
        ->take_all();
    app.add_option("--proxy-protocol", c.proxy_protocol,
                   "Every connection must begin with a PROXY protocol v1/v2 header (HAProxy "
                   "send-proxy): its source is the client; connections without one are closed");
    app.add_option("--health-url", c.health_url,
                   "URL path answered 200 \"ok\" (not logged), and 503 once shutdown begins; "
                   "empty = none");
    app.add_option("--shutdown-delay", c.shutdown_delay,
                   "Seconds after SIGTERM during which cgihost goes on serving, with "
                   "--health-url answering 503 and connections closed after each response, "
                   "before it stops accepting (then --shutdown-grace)")
        ->check(CLI::Range(0.0, 3600.0));
}

std::string validate_load_balancer(const Config& c) {
    std::string error;
    if (!parse_trusted_proxies(c.trusted_proxies, &error)) return "--trusted-proxies: " + error;
    if (!c.health_url.empty() &&
        (c.health_url.front() != '/' || c.health_url.find_first_of("?# ") != std::string::npos)) {
        return "--health-url: '" + c.health_url + "' is not a URL path starting with '/'";
    }
    return {};
}

// The rules' syntax; the password files themselves are read by main, once, as root.
std::string validate_access(const Config& c) {
    for (const auto& text : c.allow) {
        auto rule = parse_access_rule(text);
        if (auto* error = std::get_if<std::string>(&rule)) return "--allow: " + *error;
    }
    for (const auto& text : c.basic_auth) {
        auto area = parse_auth_area(text);
        if (auto* error = std::get_if<std::string>(&area)) return "--basic-auth: " + *error;
    }
    for (char ch : c.basic_auth_realm) {
        if (is_control_byte(ch)) return "--basic-auth-realm: control characters are not allowed";
    }
    return {};
}

std::string validate_server_names(Config& c) {
    if (!c.server_name.empty()) {
        auto name = parse_server_name(c.server_name, false);
        if (!name) {
            return "--server-name: '" + c.server_name +
                   "' is not a host name or IP address (no scheme, port or path)";
        }
        c.server_name = *name;
    }
    if (!c.server_aliases.empty() && c.server_name.empty())
        return "--server-aliases: needs --server-name";
    for (auto& alias : c.server_aliases) {
        auto name = parse_server_name(alias, true);
        if (!name)
            return "--server-aliases: '" + alias + "' is not a host name, *.domain or IP address";
        alias = *name;
    }
    return {};
}

std::string validate_cgi(const Config& c) {
    for (const auto& handler : c.cgi_handlers) {
        auto equals = handler.find('=');
        if (handler.size() < 2 || handler[0] != '.' || equals == std::string::npos || equals < 2) {
            return "--cgi-handlers: '" + handler + "' is not .ext=interpreter or .ext=";
        }
    }
    for (const auto& entry : c.cgi_env_set) {
        if (entry.find('=') == std::string::npos || entry.front() == '=') {
            return "--cgi-env-set: '" + entry + "' is not NAME=VALUE";
        }
    }
    if (!c.cgi_x_sendfile_root.empty()) {
        if (auto error = check_directory("--cgi-x-sendfile-root", c.cgi_x_sendfile_root);
            !error.empty()) {
            return error;
        }
    }
    return {};
}

std::string validate_tls(Config& c) {
    c.listen_tls_addresses.clear();
    for (const auto& text : c.listen_tls) {
        auto address = parse_listen_address(text);
        if (!address) return "--listen-tls: '" + text + "' is not host:port or [v6]:port";
        c.listen_tls_addresses.push_back(*address);
    }
    const bool tls = !c.listen_tls.empty();
    if (tls && (c.tls_cert.empty() || c.tls_key.empty()))
        return "--listen-tls: needs --tls-cert and --tls-key";
    if (!tls && (!c.tls_cert.empty() || !c.tls_key.empty() || !c.tls_ocsp_staple.empty()))
        return "--tls-cert, --tls-key and --tls-ocsp-staple need --listen-tls";
    if (!tls && c.redirect_to_https) return "--redirect-to-https: needs --listen-tls";
    if (!tls && c.hsts > 0) return "--hsts: needs --listen-tls";
    return {};
}

std::string check_directory(const char* key, const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return std::string(key) + ": cannot use '" + path + "': " + std::strerror(errno);
    }
    if (!S_ISDIR(st.st_mode)) return std::string(key) + ": '" + path + "' is not a directory";
    if (::access(path.c_str(), R_OK | X_OK) != 0) {
        return std::string(key) + ": cannot read '" + path + "': " + std::strerror(errno);
    }
    return {};
}

// Everything that CLI11's per-option checks cannot see. Returns an error line or "".
std::string validate(Config& c) {
    if (c.listen.empty()) return "--listen: at least one address is required";
    c.listen_addresses.clear();
    for (const auto& text : c.listen) {
        auto address = parse_listen_address(text);
        if (!address) return "--listen: '" + text + "' is not host:port or [v6]:port";
        c.listen_addresses.push_back(*address);
    }
    if (auto error = validate_tls(c); !error.empty()) return error;
    if (auto error = check_directory("--docroot", c.docroot); !error.empty()) return error;
    if (c.cgi_url.empty() || c.cgi_url.front() != '/') return "--cgi-url: must start with '/'";
    if (c.index_files.empty()) return "--index-files: at least one name is required";
    for (const auto& name : c.index_files) {
        if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
            return "--index-files: '" + name + "' must be a plain file name";
        }
    }
    if (c.max_header_size < 1024) return "--max-header-size: must be at least 1024 bytes";
    if (c.max_uri_size < 256) return "--max-uri-size: must be at least 256 bytes";
    if (c.body_spool_dir.empty()) {
        const char* tmpdir = std::getenv("TMPDIR");
        c.body_spool_dir = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
    }
    if (auto error = check_directory("--body-spool-dir", c.body_spool_dir); !error.empty()) {
        return error;
    }
    if (::access(c.body_spool_dir.c_str(), W_OK) != 0) {
        return "--body-spool-dir: cannot write to '" + c.body_spool_dir +
               "': " + std::strerror(errno);
    }
    if (auto error = validate_cgi(c); !error.empty()) return error;
    if (auto error = validate_server_names(c); !error.empty()) return error;
    if (auto error = validate_access(c); !error.empty()) return error;
    if (auto error = validate_status_urls(c); !error.empty()) return error;
    if (auto error = validate_load_balancer(c); !error.empty()) return error;
    if (c.threads == 0) c.threads = std::max(1u, std::thread::hardware_concurrency());
    return {};
}

}  // namespace

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
    std::string_view host;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        if (host.find(':') == std::string_view::npos) return std::nullopt;
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return std::nullopt;  // v6 needs brackets
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() ||
        value > 65535) {
        return std::nullopt;
    }
    return ListenAddress{std::string(host), static_cast<uint16_t>(value)};
}

std::string format_listen_address(const ListenAddress& address) {
    bool v6 = address.host.find(':') != std::string::npos;
    return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

ConfigOutcome parse_config(int argc, const char* const* argv) {
    Config config;
    CLI::App app{"cgihost: a CGI/1.1 web server with a static file server", "cgihost"};
    app.set_version_flag("--version", std::string("cgihost ") + kVersion);
    app.set_config("--config", "", "Read options from an INI/TOML file (flags override it)");
    app.allow_config_extras(CLI::config_extras_mode::error);
    add_options(app, config);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        return ConfigExit{0, app.help()};
    } catch (const CLI::CallForVersion&) {
        return ConfigExit{0, std::string("cgihost ") + kVersion + "\n"};
    } catch (const CLI::ParseError& e) {
        return ConfigExit{2, std::string("cgihost: error: ") + e.what() + "\n"};
    }
    if (auto error = validate(config); !error.empty()) {
        return ConfigExit{2, "cgihost: error: " + error + "\n"};
    }
    return config;
}

}  // namespace cgihost
