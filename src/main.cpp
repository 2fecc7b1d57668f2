// cgihost's entry point: parse the configuration once, derive the shared tables, serve.
#include <event2/thread.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "config.hpp"
#include "log.hpp"
#include "server.hpp"
#include "server_context.hpp"

namespace {

std::string real_directory(const std::string& path) {
    std::error_code error;
    auto resolved = std::filesystem::canonical(path, error);
    return error ? std::string() : resolved.string();
}

cgihost::ResolverConfig make_resolver_config(const cgihost::Config& config) {
    cgihost::ResolverConfig resolver;
    resolver.docroot = real_directory(config.docroot);
    resolver.cgi_dir = real_directory(config.cgi_dir);
    resolver.cgi_url_prefix = config.cgi_url;
    while (resolver.cgi_url_prefix.size() > 1 && resolver.cgi_url_prefix.back() == '/') {
        resolver.cgi_url_prefix.pop_back();
    }
    resolver.index_files = config.index_files;
    resolver.serve_dotfiles = config.serve_dotfiles;
    resolver.follow_symlinks_outside = config.follow_symlinks_outside;
    return resolver;
}

}  // namespace

int main(int argc, char** argv) {
    auto outcome = cgihost::parse_config(argc, argv);
    if (auto* exit = std::get_if<cgihost::ConfigExit>(&outcome)) {
        std::fputs(exit->message.c_str(), exit->status == 0 ? stdout : stderr);
        return exit->status;
    }
    const auto& config = std::get<cgihost::Config>(outcome);

    cgihost::prepare_process_signals();
    evthread_use_pthreads();
    cgihost::Logger logger(config.error_log, *cgihost::parse_log_level(config.log_level),
                           config.access_log);
    if (auto error = logger.open(); !error.empty()) {
        std::fprintf(stderr, "cgihost: error: %s\n", error.c_str());
        return 2;
    }
    cgihost::ServerContext context{
        config, logger, cgihost::MimeTypes::with_builtin_defaults(), make_resolver_config(config),
        {},     {}};
    context.mime_types.load_file(config.mime_types);
    context.limits = {config.max_uri_size, config.max_header_size};
    context.static_options.directory_listing = config.directory_listing;
    if (context.resolver.cgi_dir.empty()) {
        logger.warn("--cgi-dir '" + config.cgi_dir + "' does not exist; CGI requests will get 404");
    }
    cgihost::Server server(context);
    return server.run();
}
