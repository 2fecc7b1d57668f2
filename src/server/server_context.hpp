// What every worker shares, read-only after startup: the validated Config, the logs, and the
// tables derived from the config once (MIME types, resolver settings).
#pragma once

#include "cgi/cgi_admission.hpp"
#include "cgi/cgi_environment.hpp"
#include "cgi/cgi_process.hpp"
#include "files/mime_types.hpp"
#include "files/static_files.hpp"
#include "files/target_resolver.hpp"
#include "http/request_intake.hpp"
#include "http/request_validation.hpp"
#include "security/privileges.hpp"
#include "security/tls_context.hpp"
#include "server/config.hpp"
#include "server/log.hpp"

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

CgiSettings make_cgi_settings(const Config& config);
IntakeSettings make_intake_settings(const Config& config);
CgiAdmissionLimits make_cgi_admission_limits(const Config& config);

struct ServerContext {
    const Config& config;
    Logger& logger;
    MimeTypes mime_types;
    ResolverConfig resolver;
    RequestLimits limits;
    StaticFileOptions static_options;
    CgiSettings cgi;
    IntakeSettings intake;
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
};

}  // namespace cgihost
