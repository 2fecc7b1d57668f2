#include "status/status_response.hpp"

#include "http/http_status.hpp"
#include "server/version.hpp"
#include "status/status_page.hpp"

namespace cgihost {

std::optional<StatusResource> match_status_request(const Config& config, const Request& request) {
    if (!config.metrics_url.empty() && request.path == config.metrics_url)
        return StatusResource::metrics;
    if (config.status_url.empty() || request.path != config.status_url) return std::nullopt;
    return request.has_query && request.query == "json" ? StatusResource::json
                                                        : StatusResource::page;
}

StatusReport gather_status_report(const ServerContext& context) {
    StatusReport report;
    report.version = kVersion;
    report.uptime_seconds = context.metrics.uptime_seconds();
    report.workers = context.config.threads;
    report.totals = context.metrics.totals();
    report.scripts = context.metrics.scripts();
    report.body_memory_bytes = context.body_budget.in_use();
    report.body_memory_limit = context.body_budget.limit();
    report.scripts_running = context.cgi_admission.running();
    report.scripts_queued = context.cgi_admission.queued();
    report.history = context.metrics.history();
    return report;
}

Response make_status_response(StatusResource resource, const Request& request,
                              const StatusReport& report) {
    if (request.method != "GET" && request.method != "HEAD") {
        Response refusal = make_error_response(status::method_not_allowed);
        refusal.add_header("Allow", "GET, HEAD");
        return refusal;
    }
    Response response;
    response.add_header("Cache-Control", "no-store");
    response.add_header("X-Content-Type-Options", "nosniff");
    switch (resource) {
        case StatusResource::page:
            response.add_header("Content-Type", "text/html; charset=utf-8");
            response.add_header("Content-Security-Policy", status_page_csp());
            response.body = status_page_html();
            break;
        case StatusResource::json:
            response.add_header("Content-Type", "application/json");
            response.body = render_status_json(report);
            break;
        case StatusResource::metrics:
            // The exposition format's own media type (Prometheus text format 0.0.4).
            response.add_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            response.body = render_prometheus(report);
            break;
    }
    return response;
}

}  // namespace cgihost
