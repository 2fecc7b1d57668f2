// What every worker shares, read-only after startup: the validated Config, the logs, and the
// tables derived from the config once (MIME types, resolver settings).
#pragma once

#include "config.hpp"
#include "log.hpp"
#include "mime_types.hpp"
#include "request_validation.hpp"
#include "static_files.hpp"
#include "target_resolver.hpp"

namespace cgihost {

struct ServerContext {
    const Config& config;
    Logger& logger;
    MimeTypes mime_types;
    ResolverConfig resolver;
    RequestLimits limits;
    StaticFileOptions static_options;
};

}  // namespace cgihost
