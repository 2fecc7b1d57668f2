// Which status URL a request names, and what it is answered.
#include "status/status_response.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace cgihost {
namespace {

TEST(StatusResponse, MatchesTheConfiguredPathsExactly) {
    Config config;
    config.status_url = "/status";
    config.metrics_url = "/metrics";
    Request request;
    request.method = "GET";
    request.path = "/status";
    EXPECT_EQ(match_status_request(config, request), StatusResource::page);
    request.has_query = true;
    request.query = "json";
    EXPECT_EQ(match_status_request(config, request), StatusResource::json);
    request.query = "jsonx";
    EXPECT_EQ(match_status_request(config, request), StatusResource::page);
    request.path = "/metrics";
    EXPECT_EQ(match_status_request(config, request), StatusResource::metrics);
    request.path = "/status/";
    EXPECT_EQ(match_status_request(config, request), std::nullopt);
    config.status_url.clear();
    request.path = "/status";
    EXPECT_EQ(match_status_request(config, request), std::nullopt);
}

TEST(StatusResponse, RefusesMethodsOtherThanGetAndHead) {
    Request request;
    request.method = "POST";
    Response response = make_status_response(StatusResource::json, request, StatusReport{});
    EXPECT_EQ(response.status, 405);
    request.method = "HEAD";
    response = make_status_response(StatusResource::metrics, request, StatusReport{});
    EXPECT_EQ(response.status, 200);
}

}  // namespace
}  // namespace cgihost
