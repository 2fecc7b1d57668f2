// What a reload (SIGHUP) may change, bundled: the validated Config and every table derived from
// it that requests read (MIME types, resolver settings, limits, the CGI settings, the intake's
// settings, the access rules with their password files). A request takes the current Site when
// it begins and keeps it to its end, so a reload applies to new requests while those in flight
// finish as they began; a connection keeps the intake settings of its first moment.
//
// What a reload cannot change (listening sockets, threads, users, the log paths, the shared
// budgets and queues) stays in ServerContext; keep_restart_only_options holds those options
// at their running values and names what a new config file would have changed.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "server/server_context.hpp"

namespace cgihost {

// What the process decided at startup and every Site inherits: the scripts' user, and the
// descriptor limit scripts get back after the server raised its own.
struct SiteInvariants {
    std::optional<Identity> run_as;  // set when scripts run as a user of their own
    rlimit open_files{};
};

// The canonical path of `path`, or "" when it cannot be resolved (missing, unreachable).
std::string real_directory(const std::string& path);

// Builds a Site from a validated config, reading the MIME types and password files. `warn`
// gets a line per refused password entry and per file that falls back. Refuses a TLS key the
// scripts' user could read. `running`, on a reload, is the Site in force (password files the
// server's user cannot read keep their users from it). Returns the Site or why not.
std::variant<std::shared_ptr<const Site>, std::string> build_site(
    Config config, const SiteInvariants& invariants,
    const std::function<void(const std::string&)>& warn, const Site* running = nullptr);

// A reload leaves some options to the next start (sockets, threads, users, log paths, the
// process-wide budgets and queues, and the limits evhttp was configured with): where `loaded`
// differs from `running` in one, this puts the running value back and names its flag
// ("--threads") in the result, so the reload can say what it did not apply.
std::vector<std::string> keep_restart_only_options(const Config& running, Config& loaded);

}  // namespace cgihost
