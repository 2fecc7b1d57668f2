// cgihost's entry point: parse the configuration once, derive the shared tables, serve.
#include <event2/thread.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "security/privileges.hpp"
#include "server/config.hpp"
#include "server/log.hpp"
#include "server/server.hpp"
#include "server/server_context.hpp"
#include "server/site.hpp"

namespace {

// Started as root, the directories served must be reachable by the users we become, or every
// request would fail later with a puzzling 403 or 502: say so now.
std::string check_paths_for(const cgihost::PrivilegePlan& plan, const cgihost::Config& config) {
    if (!plan.drop) return {};
    struct Need {
        const char* flag;
        const std::string& path;
        const cgihost::Identity& who;
        int mode = R_OK | X_OK;
    };
    // Request bodies beyond the spool threshold are written there by the server's user.
    std::vector<Need> needs{{"--docroot", config.docroot, plan.server},
                            {"--body-spool-dir", config.body_spool_dir, plan.server, W_OK | X_OK}};
    if (!cgihost::real_directory(config.cgi_dir).empty()) {
        needs.push_back({"--cgi-dir", config.cgi_dir, plan.server});
        needs.push_back({"--cgi-dir", config.cgi_dir, plan.scripts});
    }
    if (!config.cgi_handlers.empty()) needs.push_back({"--docroot", config.docroot, plan.scripts});
    for (const auto& need : needs) {
        if (auto why = cgihost::check_reachable(need.path, need.who, need.mode); !why.empty()) {
            return std::string(need.flag) + " '" + need.path + "': " + why +
                   ((need.mode & W_OK) != 0 ? "; make it writable by that user, or choose another"
                                            : "; make the path searchable (chmod o+x) or "
                                              "choose other users");
        }
    }
    return {};
}

std::variant<cgihost::PrivilegePlan, std::string> plan_privileges(const cgihost::Config& config) {
    auto outcome =
        cgihost::plan_privileges({config.user, config.group, config.cgi_user, config.cgi_group},
                                 ::geteuid(), ::getegid(), cgihost::SystemAccounts{});
    if (auto* plan = std::get_if<cgihost::PrivilegePlan>(&outcome)) {
        if (auto error = check_paths_for(*plan, config); !error.empty()) return error;
    }
    return outcome;
}

int run(int argc, char** argv) {
    auto outcome = cgihost::parse_config(argc, argv);
    if (auto* exit = std::get_if<cgihost::ConfigExit>(&outcome)) {
        (void)std::fputs(exit->message.c_str(), exit->status == 0 ? stdout : stderr);
        return exit->status;
    }
    const auto& config = std::get<cgihost::Config>(outcome);

    // Descriptors 0-2 must be open, or a pipe for a script could land on one of them and
    // be dup'd onto itself, keeping close-on-exec.
    for (int fd = 0; fd < 3; ++fd) {
        if (fcntl(fd, F_GETFD) < 0) (void)open("/dev/null", O_RDWR);
    }
    auto privileges = plan_privileges(config);
    if (auto* error = std::get_if<std::string>(&privileges)) {
        (void)std::fprintf(stderr, "cgihost: error: %s\n", error->c_str());
        return 2;
    }
    cgihost::prepare_process_signals();
    evthread_use_pthreads();
    cgihost::Logger logger(config.error_log, *cgihost::parse_log_level(config.log_level),
                           config.access_log);
    if (auto error = logger.open(); !error.empty()) {
        (void)std::fprintf(stderr, "cgihost: error: %s\n", error.c_str());
        return 2;
    }
    const auto& plan = std::get<cgihost::PrivilegePlan>(privileges);
    cgihost::SiteInvariants invariants;
    if (plan.switch_scripts) invariants.run_as = plan.scripts;
    // Password files are read now, as root, so that they may be readable by root alone.
    auto site = cgihost::build_site(config, invariants,
                                    [&logger](const std::string& line) { logger.warn(line); });
    if (auto* error = std::get_if<std::string>(&site)) {
        (void)std::fprintf(stderr, "cgihost: error: %s\n", error->c_str());
        return 2;
    }
    cgihost::ServerContext context{
        .config = config,
        .logger = logger,
        .sites = cgihost::SiteStore(std::get<std::shared_ptr<const cgihost::Site>>(site)),
        .body_budget = cgihost::BodyMemoryBudget(config.max_body_memory),
        .privileges = plan};
    cgihost::Server server(context, invariants, std::vector<std::string>(argv, argv + argc));
    return server.run();
}
}  // namespace

int main(int argc, char** argv) {
    // Anything thrown past startup is a bug; say so in one line instead of terminating.
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        (void)std::fprintf(stderr, "cgihost: fatal: %s\n", e.what());
    } catch (...) {
        (void)std::fprintf(stderr, "cgihost: fatal: unknown exception\n");
    }
    return 1;
}
