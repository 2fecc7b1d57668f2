// The Prometheus and JSON renderings of a StatusReport built by hand, and their escaping.
#include "status/status_report.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace cgihost {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

StatusReport sample_report() {
    StatusReport report;
    report.version = "9.9.9";
    report.workers = 2;
    report.totals.responses = {0, 7, 1, 2, 3};
    report.totals.bytes_received = 1234;
    report.totals.bytes_sent = 5678;
    report.totals.spawns = 4;
    report.totals.failures = {1, 2, 0, 0, 0};
    ScriptRun run;
    run.spawned = true;
    run.first_byte_seconds = 0.02;
    run.total_seconds = 0.3;
    run.cpu_seconds = 0.125;
    run.peak_rss_bytes = 8192;
    run.bytes_sent = 99;
    add_script_run(report.scripts, "/cgi-bin/app", run);
    run.total_seconds = 40;
    add_script_run(report.scripts, "/cgi-bin/app", run);
    report.history.push_back({1000, 2.5, 1, 0.3});
    report.history.push_back({1001, 0, 0, -1});
    return report;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);)
        lines.push_back(line);
    return lines;
}

TEST(Prometheus, GivesEveryFamilyHelpAndTypeBeforeItsSamples) {
    const std::string text = render_prometheus(sample_report());
    std::string family;
    for (const std::string& line : lines_of(text)) {
        if (line.starts_with("# HELP ")) {
            family = line.substr(7, line.find(' ', 7) - 7);
            continue;
        }
        if (line.starts_with("# TYPE ")) {
            EXPECT_TRUE(line.starts_with("# TYPE " + family + ' ')) << line;
            continue;
        }
        EXPECT_TRUE(line.starts_with(family)) << line << " outside family " << family;
    }
    EXPECT_THAT(text, HasSubstr("# TYPE cgihost_responses_total counter\n"));
    EXPECT_THAT(text, HasSubstr("cgihost_responses_total{class=\"2xx\"} 7\n"));
    EXPECT_THAT(text, HasSubstr("cgihost_info{version=\"9.9.9\"} 1\n"));
    EXPECT_THAT(text, HasSubstr("cgihost_received_bytes_total 1234\n"));
    EXPECT_THAT(text, HasSubstr("cgihost_script_failures_all_total{kind=\"crashed\"} 2\n"));
}

TEST(Prometheus, WritesHistogramsWithCumulativeBucketsSumAndCount) {
    const std::string text = render_prometheus(sample_report());
    const std::string name = "cgihost_script_duration_seconds";
    EXPECT_THAT(text, HasSubstr("# TYPE " + name + " histogram\n"));
    EXPECT_THAT(text, HasSubstr(name + "_bucket{script=\"/cgi-bin/app\",le=\"0.25\"} 0\n"));
    EXPECT_THAT(text, HasSubstr(name + "_bucket{script=\"/cgi-bin/app\",le=\"0.5\"} 1\n"));
    EXPECT_THAT(text, HasSubstr(name + "_bucket{script=\"/cgi-bin/app\",le=\"30\"} 1\n"));
    EXPECT_THAT(text, HasSubstr(name + "_bucket{script=\"/cgi-bin/app\",le=\"+Inf\"} 2\n"));
    EXPECT_THAT(text, HasSubstr(name + "_sum{script=\"/cgi-bin/app\"} 40.3\n"));
    EXPECT_THAT(text, HasSubstr(name + "_count{script=\"/cgi-bin/app\"} 2\n"));
    EXPECT_THAT(text,
                HasSubstr("cgihost_script_cpu_seconds_total{script=\"/cgi-bin/app\"} 0.25\n"));
    EXPECT_THAT(text, HasSubstr("cgihost_script_peak_rss_bytes{script=\"/cgi-bin/app\"} 8192\n"));
}

TEST(Prometheus, EscapesLabelValues) {
    EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    EXPECT_EQ(escape_label_value("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 kept
    EXPECT_EQ(escape_label_value("bad\xff\xc3"), "bad??");        // not UTF-8
    StatusReport report;
    add_script_run(report.scripts, "/cgi-bin/x\"} 1\nevil 2", ScriptRun{});
    const std::string text = render_prometheus(report);
    EXPECT_THAT(text, HasSubstr("{script=\"/cgi-bin/x\\\"} 1\\nevil 2\"} 1\n"));
    EXPECT_THAT(text, Not(HasSubstr("\nevil 2")));
}

TEST(Json, EscapesStringsForJsonAndForHtml) {
    EXPECT_EQ(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(json_string("\n\x01"), "\"\\u000a\\u0001\"");
    EXPECT_EQ(json_string("</script>"), "\"\\u003c/script>\"");
    EXPECT_EQ(json_string("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
    EXPECT_EQ(json_string("\xff"), "\"\\u00ff\"");
}

TEST(Json, CarriesTheTotalsScriptsAndHistory) {
    const std::string json = render_status_json(sample_report());
    EXPECT_THAT(json, HasSubstr("\"version\":\"9.9.9\""));
    EXPECT_THAT(json, HasSubstr("\"requests\":13"));
    EXPECT_THAT(json, HasSubstr("\"responses\":{\"1xx\":0,\"2xx\":7,\"3xx\":1,\"4xx\":2,"
                                "\"5xx\":3}"));
    EXPECT_THAT(json, HasSubstr("\"failures\":{\"exec_failed\":1,\"crashed\":2,"));
    EXPECT_THAT(json, HasSubstr("{\"name\":\"/cgi-bin/app\",\"requests\":2,"));
    EXPECT_THAT(json, HasSubstr("[0.5,1],"));
    EXPECT_THAT(json, HasSubstr("[\"+Inf\",2]"));
    EXPECT_THAT(json, HasSubstr("{\"time\":1000,\"requests_per_second\":2.5,"
                                "\"spawns_per_second\":1,\"script_mean_seconds\":0.3}"));
    EXPECT_THAT(json, HasSubstr("\"script_mean_seconds\":null}"));
    EXPECT_EQ(json.front(), '{');
    EXPECT_EQ(json.back(), '}');
}

}  // namespace
}  // namespace cgihost
