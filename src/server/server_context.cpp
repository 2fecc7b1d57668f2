#include "server/server_context.hpp"

#include <filesystem>
#include <thread>

#include "http/forwarded.hpp"
#include "server/version.hpp"

namespace cgihost {

ServerNames make_server_names(const Config& config) {
    return {.canonical = config.server_name, .aliases = config.server_aliases};
}

CgiSettings make_cgi_settings(const Config& config) {
    CgiSettings cgi;
    cgi.environment.server_software = kServerSoftware;
    cgi.environment.path = config.cgi_path;
    cgi.environment.pass_authorization = config.cgi_pass_authorization;
    cgi.environment.pass = config.cgi_env_pass;
    cgi.environment.server_names = make_server_names(config);
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
    intake.keep_alive_timeout = config.keep_alive_timeout;
    intake.write_timeout = config.write_timeout;
    intake.proxy_protocol = config.proxy_protocol;
    std::string error;  // validated by parse_config
    intake.trusted_proxies =
        parse_trusted_proxies(config.trusted_proxies, &error).value_or(std::vector<AddressRange>{});
    return intake;
}

CgiAdmissionLimits make_cgi_admission_limits(const Config& config) {
    return {.max_running = config.cgi_max_processes,
            .max_per_client = config.cgi_max_per_client,
            .queue_capacity = config.cgi_queue};
}

LoginThrottleLimits make_login_throttle_limits(const Config& config) {
    LoginThrottleLimits limits;
    limits.max_failures = config.auth_max_failures;
    limits.window = config.auth_failure_window;
    limits.max_delay = config.auth_max_delay;
    return limits;
}

std::variant<AccessPolicy, std::string> load_access_policy(
    const Config& config, const std::function<void(const std::string&)>& warn,
    const AccessPolicy* running) {
    AccessPolicy policy;
    policy.realm = config.basic_auth_realm;
    for (const auto& text : config.allow) {
        auto rule = parse_access_rule(text);
        if (auto* error = std::get_if<std::string>(&rule)) return "--allow: " + *error;
        policy.allow.push_back(std::get<AccessRule>(std::move(rule)));
    }
    auto areas = load_auth_areas(config.basic_auth, warn,
                                 running != nullptr ? &running->auth_areas : nullptr);
    if (auto* error = std::get_if<std::string>(&areas)) return *error;
    policy.auth_areas = std::get<std::vector<AuthArea>>(std::move(areas));
    return policy;
}

unsigned password_verifier_threads() {
    constexpr unsigned kCoresPerVerifier = 4;
    constexpr unsigned kMaxVerifiers = 2;
    const unsigned cores = std::thread::hardware_concurrency();
    return std::clamp(cores / kCoresPerVerifier, 1u, kMaxVerifiers);
}

}  // namespace cgihost
