// What every worker shares, read-only after startup: the validated Config, the logs, and the
// tables derived from the config once (MIME types, resolver settings).
#pragma once

#include <atomic>

#include "cgi_environment.hpp"
#include "cgi_process.hpp"
#include "config.hpp"
#include "log.hpp"
#include "mime_types.hpp"
#include "privileges.hpp"
#include "request_validation.hpp"
#include "static_files.hpp"
#include "target_resolver.hpp"

namespace cgihost {

// The CGI settings, derived from Config once.
struct CgiSettings {
    CgiEnvironmentConfig environment;
    CgiResourceLimits limits;
    double timeout = 60;
    double max_time = 300;
    double kill_grace = 2;
    unsigned max_processes = 1024;
    std::string x_sendfile_root;  // realpath'd; "" = off
    uint64_t stderr_limit = uint64_t{64} * 1024;
    std::optional<Identity> run_as;  // scripts take this identity; nullopt = the server's
};

CgiSettings make_cgi_settings(const Config& config);

struct ServerContext {
    const Config& config;
    Logger& logger;
    MimeTypes mime_types;
    ResolverConfig resolver;
    RequestLimits limits;
    StaticFileOptions static_options;
    CgiSettings cgi;
    PrivilegePlan privileges;  // carried out by Server::run once the sockets are bound
    // Scripts running now, across all workers, against cgi-max-processes.
    mutable std::atomic<unsigned> running_cgi_processes{0};
};

}  // namespace cgihost
