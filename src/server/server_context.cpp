#include "server/server_context.hpp"

#include <filesystem>

#include "server/version.hpp"

namespace cgihost {

CgiSettings make_cgi_settings(const Config& config) {
    CgiSettings cgi;
    cgi.environment.server_software = kServerSoftware;
    cgi.environment.path = config.cgi_path;
    cgi.environment.pass_authorization = config.cgi_pass_authorization;
    cgi.environment.pass = config.cgi_env_pass;
    for (const auto& entry : config.cgi_env_set) {
        auto equals = entry.find('=');
        cgi.environment.set.emplace_back(entry.substr(0, equals), entry.substr(equals + 1));
    }
    cgi.limits.cpu_seconds = config.cgi_rlimit_cpu;
    cgi.limits.address_space = config.cgi_rlimit_as;
    cgi.limits.processes = config.cgi_rlimit_nproc;
    cgi.timeout = config.cgi_timeout;
    cgi.max_time = config.cgi_max_time;
    cgi.kill_grace = config.cgi_kill_grace;
    cgi.queue_timeout = config.cgi_queue_timeout;
    cgi.stderr_limit = config.cgi_stderr_limit;
    if (!config.cgi_x_sendfile_root.empty()) {
        std::error_code error;
        cgi.x_sendfile_root = std::filesystem::canonical(config.cgi_x_sendfile_root, error);
        // Scripts may learn where X-Sendfile works (the download sample uses it).
        if (!error)
            cgi.environment.set.emplace_back("CGIHOST_X_SENDFILE_ROOT", cgi.x_sendfile_root);
    }
    return cgi;
}

// evhttp refused heads beyond this many times max-header-size by itself (with 413), and so
// does the framer now; below it, validate_request answers 414/431 with the precise status.
constexpr uint64_t kHeadSlack = 4;

IntakeSettings make_intake_settings(const Config& config) {
    IntakeSettings intake;
    intake.framing.max_head_size = config.max_header_size * kHeadSlack + config.max_uri_size;
    intake.framing.max_body_size = config.max_body_size;
    intake.timeouts = {config.header_timeout, config.body_timeout, config.body_min_rate};
    intake.spool_threshold = config.body_spool_threshold;
    intake.spool_dir = config.body_spool_dir;
    return intake;
}

CgiAdmissionLimits make_cgi_admission_limits(const Config& config) {
    return {.max_running = config.cgi_max_processes,
            .max_per_client = config.cgi_max_per_client,
            .queue_capacity = config.cgi_queue};
}

}  // namespace cgihost
