// The answers at --status-url (the page, or its numbers at ?json) and --metrics-url, served
// by the worker after the access gate, like any other URL. Asking costs a merge of the
// workers' counters; no part of the query string makes it do more.
#pragma once

#include <optional>

#include "http/http_message.hpp"
#include "server/server_context.hpp"
#include "status/status_report.hpp"

namespace cgihost {

enum class StatusResource { page, json, metrics };

// Which of them `request` names (its raw path equal to an option's), or nullopt.
std::optional<StatusResource> match_status_request(const Config& config, const Request& request);

// The numbers now: every worker's counters merged, and the shared gauges.
StatusReport gather_status_report(const ServerContext& context);

// 200 with the rendering (never cached), or 405 for a method other than GET and HEAD.
Response make_status_response(StatusResource resource, const Request& request,
                              const StatusReport& report);

}  // namespace cgihost
