// --status-url and --metrics-url against the real binary: after known static and script
// traffic (a script that crashes, one that times out, one with malformed output, one that
// cannot be executed, one whose client leaves) the numbers are exactly those; the status is
// off by default and behind the same access rules as every other URL.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "cgi_fixture.hpp"
#include "http_client.hpp"
#include "test_server.hpp"

namespace cgihost::testing {
namespace {

// The samples of a Prometheus text exposition, by their name and labels as written.
std::map<std::string, double> parse_exposition(const std::string& text) {
    std::map<std::string, double> samples;
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);) {
        if (line.empty() || line.front() == '#') continue;
        const size_t space = line.rfind(' ');
        if (space == std::string::npos) continue;
        samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return samples;
}

class StatusTest : public CgiTest {
  protected:
    void start_with_status(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"--status-url", "/status",   "--metrics-url",
                                      "/metrics",     "--threads", "2"};
        args.insert(args.end(), extra.begin(), extra.end());
        start(args);
    }

    // The metrics now; every call is one more 2xx response in the next reading.
    std::map<std::string, double> metrics() {
        auto response = get("/metrics");
        ++status_requests_;
        if (!response || response->status != 200) {
            ADD_FAILURE() << "GET /metrics failed";
            return {};
        }
        return parse_exposition(response->body);
    }

    // Waits until `name` reads `value` (scripts are counted once reaped).
    std::map<std::string, double> wait_for_metric(const std::string& name, double value) {
        std::map<std::string, double> samples;
        (void)wait_until([&] {
            samples = metrics();
            return samples[name] == value;
        });
        return samples;
    }

    int status_requests_ = 0;
};

constexpr const char* kScript = "script=\"/cgi-bin/t\"";

TEST_F(StatusTest, CountsExactlyTheRequestsAndFailuresPerScriptAndServerWide) {
    site_.write_file("cgi-bin/broken", "#!/nonexistent/interpreter\n", 0755);
    start_with_status({"--cgi-timeout", "1", "--cgi-kill-grace", "1"});
    constexpr int kStatic = 5;
    for (int i = 0; i < kStatic; ++i)
        ASSERT_EQ(get("/")->status, 200);
    constexpr int kGood = 3;
    for (int i = 0; i < kGood; ++i)
        ASSERT_EQ(get("/cgi-bin/t?body=ok")->status, 200);
    EXPECT_EQ(get("/cgi-bin/t?crash")->status, 502);
    EXPECT_EQ(get("/cgi-bin/t?sleep=30")->status, 504);  // silent past --cgi-timeout
    EXPECT_EQ(get("/cgi-bin/t?raw=" + encode_query("no header line\n\n"))->status, 502);
    EXPECT_EQ(get("/cgi-bin/broken")->status, 502);
    {
        HttpConnection leaving(port());
        leaving.send_raw("GET /cgi-bin/t?sleep=30 HTTP/1.1\r\nHost: x\r\n\r\n");
        ASSERT_NE(wait_for_single_script(), 0);
    }  // the client hangs up while the script sleeps

    const int script_requests = kGood + 4;
    auto m = wait_for_metric(std::string("cgihost_script_requests_total{") + kScript + "}",
                             script_requests);
    auto failures = [&](const std::string& labels, const char* kind) {
        return m["cgihost_script_failures_total{" + labels + ",kind=\"" + kind + "\"}"];
    };
    EXPECT_EQ(failures(kScript, "crashed"), 1);
    EXPECT_EQ(failures(kScript, "timed_out"), 1);
    EXPECT_EQ(failures(kScript, "malformed_output"), 1);
    EXPECT_EQ(failures(kScript, "client_gone"), 1);
    EXPECT_EQ(failures(kScript, "exec_failed"), 0);
    EXPECT_EQ(m["cgihost_script_requests_total{script=\"/cgi-bin/broken\"}"], 1);
    EXPECT_EQ(failures("script=\"/cgi-bin/broken\"", "exec_failed"), 1);
    for (const char* kind :
         {"crashed", "timed_out", "malformed_output", "client_gone", "exec_failed"}) {
        EXPECT_EQ(m[std::string("cgihost_script_failures_all_total{kind=\"") + kind + "\"}"], 1)
            << kind;
    }
    // Every script that ran was timed; those that wrote had a first byte.
    EXPECT_EQ(m[std::string("cgihost_script_duration_seconds_count{") + kScript + "}"],
              script_requests);
    EXPECT_EQ(m[std::string("cgihost_script_duration_seconds_bucket{") + kScript + ",le=\"+Inf\"}"],
              script_requests);
    EXPECT_EQ(m[std::string("cgihost_script_first_byte_seconds_count{") + kScript + "}"],
              kGood + 1);
    EXPECT_EQ(m["cgihost_script_spawns_total"], script_requests);
    EXPECT_GT(m[std::string("cgihost_script_cpu_seconds_total{") + kScript + "}"], 0);
    EXPECT_GT(m[std::string("cgihost_script_peak_rss_bytes{") + kScript + "}"], 0);
    EXPECT_EQ(m[std::string("cgihost_script_sent_bytes_total{") + kScript + "}"], kGood * 2);

    // The last reading counted every status request before it.
    EXPECT_EQ(m["cgihost_responses_total{class=\"2xx\"}"], kStatic + kGood + status_requests_ - 1);
    EXPECT_EQ(m["cgihost_responses_total{class=\"4xx\"}"], 1);  // 499, the client that left
    EXPECT_EQ(m["cgihost_responses_total{class=\"5xx\"}"], 4);
    EXPECT_EQ(m["cgihost_responses_total{class=\"1xx\"}"], 0);
    EXPECT_EQ(m["cgihost_workers"], 2);
    EXPECT_EQ(m["cgihost_scripts_running"], 0);
    EXPECT_GT(m["cgihost_received_bytes_total"], 0);

    // The JSON form says the same.
    auto json = get("/status?json");
    ASSERT_TRUE(json);
    EXPECT_EQ(json->status, 200);
    EXPECT_EQ(json->header("Content-Type"), "application/json");
    EXPECT_NE(json->body.find(
                  "{\"name\":\"/cgi-bin/t\",\"requests\":" + std::to_string(script_requests) + ","),
              std::string::npos)
        << json->body;
    EXPECT_NE(json->body.find("\"failures\":{\"exec_failed\":1,\"crashed\":1,\"timed_out\":1,"
                              "\"malformed_output\":1,\"client_gone\":1}"),
              std::string::npos)
        << json->body;
}

TEST_F(StatusTest, ServesThePageWithItsPolicyAndTheMetricsAsText) {
    start_with_status();
    auto page = get("/status");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(page->header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_NE(page->header("Content-Security-Policy").find("default-src 'none'"),
              std::string::npos);
    EXPECT_EQ(page->header("Cache-Control"), "no-store");
    auto text = get("/metrics");
    ASSERT_TRUE(text);
    EXPECT_EQ(text->header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(text->body.find("# TYPE cgihost_responses_total counter\n"), std::string::npos);
    auto post = http_request(port(), "POST", "/status?json", {}, "x");
    ASSERT_TRUE(post);
    EXPECT_EQ(post->status, 405);
}

TEST_F(StatusTest, IsOffByDefault) {
    start();
    EXPECT_EQ(get("/status")->status, 404);
    EXPECT_EQ(get("/status?json")->status, 404);
    EXPECT_EQ(get("/metrics")->status, 404);
}

TEST_F(StatusTest, ObeysTheAccessRulesOfItsPrefix) {
    // Loopback is not in 192.0.2.0/24: the status URLs are refused, the rest of the site not.
    start_with_status({"--allow", "/status=192.0.2.0/24", "--allow", "/metrics=192.0.2.0/24"});
    EXPECT_EQ(get("/status")->status, 403);
    EXPECT_EQ(get("/status?json")->status, 403);
    EXPECT_EQ(get("/metrics")->status, 403);
    EXPECT_EQ(get("/")->status, 200);
}

// The last two fields of the access-log line whose request line contains `request`, once
// it is written; "" when it never is.
std::string usage_fields_of(const TestServer& server, const std::string& request) {
    std::string fields;
    (void)wait_until([&] {
        std::istringstream log(server.access_log());
        for (std::string line; std::getline(log, line);) {
            if (line.find(request) != std::string::npos) fields = line.substr(line.rfind('"') + 1);
        }
        return !fields.empty();
    });
    return fields;
}

TEST_F(StatusTest, WritesAScriptsCpuTimeAndPeakRssIntoTheAccessLogWhenAsked) {
    start({"--access-log-format", "combined-cgi"});  // works without a status URL too
    ASSERT_EQ(get("/cgi-bin/t?body=ok")->status, 200);
    ASSERT_EQ(get("/cgi-bin/t?crash")->status, 502);  // the server's error page, the script's usage
    ASSERT_EQ(get("/")->status, 200);
    EXPECT_EQ(usage_fields_of(*server_, "GET / "), " - -");
    for (const char* request : {"GET /cgi-bin/t?body=ok ", "GET /cgi-bin/t?crash "}) {
        const std::string fields = usage_fields_of(*server_, request);
        std::istringstream numbers(fields);
        double cpu_seconds = -1;
        uint64_t peak_rss_kib = 0;
        numbers >> cpu_seconds >> peak_rss_kib;
        EXPECT_FALSE(numbers.fail()) << request << fields;
        EXPECT_GE(cpu_seconds, 0) << request << fields;
        EXPECT_GT(peak_rss_kib, 0u) << request << fields;
    }
}

}  // namespace
}  // namespace cgihost::testing
