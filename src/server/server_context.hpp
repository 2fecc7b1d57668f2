// What every worker shares: the startup Config, the logs, the current Site (swapped by a
// reload), and the budgets, queues and caches that live as long as the process.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "cgi/cgi_admission.hpp"
#include "cgi/cgi_environment.hpp"
#include "cgi/cgi_process.hpp"
#include "files/mime_types.hpp"
#include "files/static_files.hpp"
#include "files/target_resolver.hpp"
#include "http/request_intake.hpp"
#include "http/request_validation.hpp"
#include "security/access_rules.hpp"
#include "security/auth_rules.hpp"
#include "security/login_throttle.hpp"
#include "security/password_verifier.hpp"
#include "security/privileges.hpp"
#include "security/tls_context.hpp"
#include "security/verified_cache.hpp"
#include "server/config.hpp"
#include "server/log.hpp"
#include "status/server_metrics.hpp"

namespace cgihost {

// The CGI settings, derived from Config once.
struct CgiSettings {
    CgiEnvironmentConfig environment;
    CgiResourceLimits limits;
    double timeout = 60;
    double max_time = 300;
    double kill_grace = 2;
    double queue_timeout = 10;    // seconds a request may wait for a slot
    std::string x_sendfile_root;  // realpath'd; "" = off
    uint64_t stderr_limit = uint64_t{64} * 1024;
    std::optional<Identity> run_as;  // scripts take this identity; nullopt = the server's
};

ServerNames make_server_names(const Config& config);
CgiSettings make_cgi_settings(const Config& config);
IntakeSettings make_intake_settings(const Config& config);
CgiAdmissionLimits make_cgi_admission_limits(const Config& config);
LoginThrottleLimits make_login_throttle_limits(const Config& config);

// Who may use which part of the site (--allow, --basic-auth), read once at startup.
struct AccessPolicy {
    std::vector<AccessRule> allow;
    std::vector<AuthArea> auth_areas;  // each with its htpasswd file's users
    std::string realm;
};

// Parses the rules and reads every htpasswd file (as root, before the privilege drop).
// `warn` gets a line per refused entry. Returns the policy or a startup error.
// On a reload, `running` is the policy in force (see load_auth_areas).
std::variant<AccessPolicy, std::string> load_access_policy(
    const Config& config, const std::function<void(const std::string&)>& warn,
    const AccessPolicy* running = nullptr);

// How many threads check passwords: one, or two where there are cores to spare. bcrypt is
// meant to be slow; more threads would only let guesses take CPU from the event loops.
unsigned password_verifier_threads();

// What a reload (SIGHUP) may change (site.hpp builds it): the validated Config and every
// table derived from it that requests read. A request takes the current Site when it begins
// and keeps it to its end; a connection keeps the intake settings of its first moment.
struct Site {
    Config config;
    MimeTypes mime_types;
    ResolverConfig resolver;
    RequestLimits limits;
    StaticFileOptions static_options;
    CgiSettings cgi;
    IntakeSettings intake;
    AccessPolicy access;
};

// The Site new requests get. Swapped whole by the reload; readers copy the pointer under a
// lock held for that copy alone.
class SiteStore {
  public:
    explicit SiteStore(std::shared_ptr<const Site> initial) : site_(std::move(initial)) {}
    std::shared_ptr<const Site> current() const {
        std::lock_guard lock(mutex_);
        return site_;
    }
    void replace(std::shared_ptr<const Site> site) {
        std::lock_guard lock(mutex_);
        site_ = std::move(site);
    }

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const Site> site_;
};

struct ServerContext {
    // The configuration the process started with: what only a restart changes (listeners,
    // threads, users, logs, the shared budgets below). Requests read their Site instead.
    const Config& config;
    Logger& logger;
    SiteStore sites;
    // Request bodies in memory, across all workers, against max-body-memory.
    mutable BodyMemoryBudget body_budget{0};
    // Script slots (cgi-max-processes), the per-client cap and the wait queue, shared by
    // every worker: the one thing here that changes after startup, behind its own lock.
    PrivilegePlan privileges;  // carried out by Server::run once the sockets are bound
    mutable CgiAdmission cgi_admission{make_cgi_admission_limits(config)};
    // HTTPS, set by Server::run once the key is read and the listeners bound: the context
    // new TLS connections get (swapped on SIGHUP), and the first TLS listener's port for
    // --redirect-to-https. nullptr / 0 without --listen-tls.
    const TlsContextStore* tls = nullptr;
    uint16_t https_port = 0;
    // Basic authentication's shared state, each behind its own lock: the verifier threads,
    // the memory of recent successes, and the failures per client.
    mutable PasswordVerifier password_verifier{password_verifier_threads(),
                                               config.auth_verify_queue};
    mutable VerifiedCache verified_cache{VerifiedCacheLimits{}};
    mutable LoginThrottle login_throttle{make_login_throttle_limits(config)};
    // The counters behind --status-url and --metrics-url; each worker writes its own part.
    mutable ServerMetrics metrics{};
    // --proxy-protocol: connections closed for want of a PROXY header, reported now and then.
    mutable ProxyRefusals proxy_refusals{};
    // SIGTERM arrived: --health-url answers 503 and responses close their connections while
    // --shutdown-delay lets the balancer notice, before the workers stop accepting.
    mutable std::atomic<bool> shutting_down{false};
};

}  // namespace cgihost
