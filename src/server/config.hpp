// cgihost's whole configuration: one struct, built once from the command line and an optional
// config file (CLI11), validated, then passed explicitly to whoever needs it. Never global.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace cgihost {

struct ListenAddress {
    std::string host;   // "127.0.0.1" or "::1" (no brackets)
    uint16_t port = 0;  // 0 = ephemeral; the bound port is printed at startup
};

struct Config {
    // Listening and files. Relative paths are relative to the working directory.
    std::vector<std::string> listen{"127.0.0.1:8080"};   // host:port or [v6]:port, repeatable
    std::string docroot = "www";                         // static files
    std::vector<std::string> index_files{"index.html"};  // tried in order for a directory URL
    bool directory_listing = false;                      // off: a directory without index → 403
    bool serve_dotfiles = false;                         // off: /.git, /.env → 404
    bool follow_symlinks_outside = false;  // off: a symlink leaving the docroot → 403
    // Seconds a static file held in memory is served without looking at the disk again, after
    // a check found it unchanged (lighttpd's stat cache: 1 s). 0 = checked on every request.
    double file_check_interval = 0;
    // The site's own names: "" = believe the Host header; else SERVER_NAME and absolute URLs
    // use the Host only when it is this name or an alias ("*.example.org" allowed), else this.
    std::string server_name;
    std::vector<std::string> server_aliases;
    std::string mime_types = "/etc/mime.types";  // missing file: built-in table only
    unsigned threads = 0;                        // worker loops; 0 = number of cores

    // CGI.
    std::string cgi_dir = "cgi-bin";        // directory holding the scripts
    std::string cgi_url = "/cgi-bin/";      // URL prefix mapped onto cgi-dir
    std::vector<std::string> cgi_handlers;  // ".py=/usr/bin/python3", ".cgi=" (run directly)
    bool cgi_follow_symlinks = true;        // a symlink in cgi-dir may name an executable anywhere
    double cgi_timeout = 60;                // silence on stdout; then 504, or the stream is cut
    double cgi_max_time = 300;              // wall-clock limit for a script, response or not
    double cgi_kill_grace = 2;              // SIGTERM, then SIGKILL this much later
    unsigned cgi_max_processes = 1024;      // scripts running at once; more → 503
    std::string cgi_path = "/usr/local/bin:/usr/bin:/bin";  // the scripts' PATH
    std::vector<std::string> cgi_env_set;   // NAME=VALUE added to every script's environment
    std::vector<std::string> cgi_env_pass;  // names copied from cgihost's own environment
    bool cgi_pass_authorization = false;    // expose Authorization as HTTP_AUTHORIZATION
    std::string cgi_x_sendfile_root;        // "" = X-Sendfile off; else files under this root
    uint64_t cgi_stderr_limit = uint64_t{64} * 1024;  // stderr bytes logged per request
    uint64_t cgi_rlimit_cpu = 0;                      // RLIMIT_CPU seconds; 0 = inherit
    uint64_t cgi_rlimit_as = 0;                       // RLIMIT_AS bytes; 0 = inherit
    uint64_t cgi_rlimit_nproc = 0;                    // RLIMIT_NPROC; 0 = inherit (root ignores it)
    // Fair use of scripts (cgi_admission): a cap per client address, and a FIFO queue for
    // requests that find all cgi-max-processes slots taken; refusals are 503 + Retry-After.
    unsigned cgi_max_per_client = 32;  // scripts running or queued per address; 0 = no cap
    unsigned cgi_queue = 256;          // requests waiting for a slot; 0 = 503 at once
    double cgi_queue_timeout = 10;     // seconds a request may wait in the queue; then 503

    // Limits, in bytes and seconds.
    uint64_t max_header_size = uint64_t{16} * 1024;  // request line + headers; more → 431
    uint64_t max_uri_size = uint64_t{8} * 1024;      // request target; more → 414
    uint64_t max_body_size = uint64_t{1} << 30;      // request body as sent; more → 413
    // Request bodies held in memory by all connections together; beyond it new bodies → 503.
    uint64_t max_body_memory = uint64_t{256} * 1024 * 1024;
    uint64_t body_spool_threshold = uint64_t{256} * 1024;  // larger bodies go to a temp file
    std::string body_spool_dir;                            // where; "" = $TMPDIR, else /tmp
    double read_timeout = 30;        // a new connection's request must make progress this often
    double header_timeout = 20;      // a request's head must arrive whole this soon (slowloris)
    double body_timeout = 20;        // slack (s) a body may fall behind --body-min-rate…
    double body_min_rate = 500;      // …the bytes/s it must average; 0 = body-timeout is fixed
    double write_timeout = 60;       // a response must make progress this often
    double keep_alive_timeout = 15;  // idle time allowed between requests on one connection
    double shutdown_grace = 10;      // SIGTERM: time in-flight requests get to finish
    // SIGTERM: seconds of going on serving first, with --health-url answering 503 and every
    // response closing its connection, so a load balancer takes us out before we stop.
    double shutdown_delay = 0;
    unsigned max_connections = 0;  // client connections at once; 0 = ¾ of the open-file limit

    // HTTPS (tls_context.hpp). TLS listeners serve the same site as the plain ones.
    std::vector<std::string> listen_tls;  // host:port or [v6]:port, repeatable; none = no HTTPS
    std::string tls_cert;                 // PEM: the server's certificate, then its chain
    std::string tls_key;                  // PEM private key; never readable by the scripts' user
    std::string tls_ocsp_staple;          // "" = no stapling; else a DER OCSP response
    std::string tls_min_version = "1.2";  // "1.2" or "1.3": the oldest TLS a client may use
    bool redirect_to_https = false;       // plain-HTTP requests get 308 to the https URL
    uint64_t hsts = 0;                    // Strict-Transport-Security max-age on TLS; 0 = none
    // Access (security/): rules apply to URL-path prefixes, the longest covering prefix wins,
    // matched on the decoded, normalised path on segment boundaries; static files and scripts
    // alike. Address rules are checked first (403), then Basic authentication (401).
    std::vector<std::string> allow;       // PREFIX=CIDR[,CIDR…]: only these clients (else 403)
    std::vector<std::string> basic_auth;  // PREFIX=HTPASSWD_FILE: read at startup, as root
    std::string basic_auth_realm = "cgihost";  // the realm browsers show in their login dialog
    // Password guessing per client address (login_throttle): a growing delay before each 401
    // (0, 0, 0.5 s, 1 s … up to auth-max-delay), then 429 for the rest of the window.
    unsigned auth_max_failures = 10;   // wrong passwords per window; then 429. 0 = never block
    double auth_failure_window = 600;  // seconds, from a client's first wrong password
    double auth_max_delay = 4;         // seconds; 0 = no delay before a 401
    unsigned auth_verify_queue = 128;  // passwords waiting for a verifier thread; more → 503

    // Privileges (see privileges.hpp). Names or numeric ids; "" = the default: started as
    // root, the server becomes www-data (else nobody) and scripts run as cgihost-cgi (else
    // nobody); started as another user, both stay that user.
    std::string user;       // the server's user after binding and opening the logs
    std::string group;      // its group; "" = the user's own
    std::string cgi_user;   // the scripts' user, never the server's
    std::string cgi_group;  // their group; "" = the user's own

    // Live status (README, "Live status and metrics"), off by default. URL paths matched
    // exactly as sent, behind the same --allow and --basic-auth rules as any other URL.
    std::string status_url;   // "" = off; the HTML page, and its numbers at PATH?json
    std::string metrics_url;  // "" = off; the Prometheus text exposition format
    // Behind a load balancer (README "Scaling out").
    // CIDR[,CIDR…]: peers believed about the client (Forwarded, X-Forwarded-For/-Proto).
    std::vector<std::string> trusted_proxies;
    bool proxy_protocol = false;  // every connection starts with a PROXY v1/v2 header
    std::string health_url;       // "" = none; else this path answers 200 "ok", 503 draining

    // Logs. "-" means stdout for the access log and stderr for the error log; "" disables.
    std::string access_log = "-";
    std::string error_log = "-";
    std::string log_level = "info";  // debug, info, warn, error
    // "combined"; "combined-cgi" appends a script's CPU seconds and peak RSS (KiB) to its line
    std::string access_log_format = "combined";

    // Filled in by validation.
    std::vector<ListenAddress> listen_addresses;
    std::vector<ListenAddress> listen_tls_addresses;
};

// What parse_config decided: run with a Config, or exit now with a status and a message.
struct ConfigExit {
    int status;           // 0 for --help/--version, 2 for any configuration error
    std::string message;  // printed to stdout (status 0) or stderr (status 2)
};
using ConfigOutcome = std::variant<Config, ConfigExit>;

// Parses flags and the --config file (flags win), then validates everything that can be
// checked before binding: unknown keys, types, listen syntax, ranges, an unreadable docroot.
ConfigOutcome parse_config(int argc, const char* const* argv);

// "127.0.0.1:8080", "[::1]:0", "localhost:80" → host and port; nullopt when malformed.
std::optional<ListenAddress> parse_listen_address(std::string_view text);

// Formats host and port back to the listen syntax, bracketing IPv6.
std::string format_listen_address(const ListenAddress& address);

}  // namespace cgihost
