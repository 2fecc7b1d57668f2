// The status counters without a server: histogram bucketing, the per-script table's cap,
// merging across workers, and the history ring.
#include "status/server_metrics.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace cgihost {
namespace {

ScriptRun finished_run(double total_seconds, ScriptFailure failure = ScriptFailure::none) {
    ScriptRun run;
    run.spawned = true;
    run.failure = failure;
    run.first_byte_seconds = total_seconds / 2;
    run.total_seconds = total_seconds;
    run.cpu_seconds = 0.25;
    run.peak_rss_bytes = 4096;
    run.bytes_sent = 10;
    return run;
}

TEST(DurationBucket, PutsAValueOnABoundInThatBucketAndLargerOnesInTheNext) {
    EXPECT_EQ(duration_bucket(0), 0u);
    EXPECT_EQ(duration_bucket(0.005), 0u);
    EXPECT_EQ(duration_bucket(0.0051), 1u);
    EXPECT_EQ(duration_bucket(1), 7u);
    EXPECT_EQ(duration_bucket(30), kDurationBuckets.size() - 1);
    EXPECT_EQ(duration_bucket(30.5), kDurationBuckets.size());  // +Inf
}

TEST(DurationHistogram, CountsSumsAndMergesPerBucket) {
    DurationHistogram a;
    a.add(0.003);
    a.add(0.2);
    DurationHistogram b;
    b.add(0.2);
    b.add(100);
    a.merge(b);
    EXPECT_EQ(a.count, 4u);
    EXPECT_DOUBLE_EQ(a.sum, 100.403);
    EXPECT_EQ(a.buckets[0], 1u);
    EXPECT_EQ(a.buckets[duration_bucket(0.2)], 2u);
    EXPECT_EQ(a.buckets.back(), 1u);
}

TEST(ScriptStats, CountsEveryRequestButTimesOnlyThoseThatRan) {
    ScriptStats stats;
    stats.add(finished_run(0.1));
    stats.add(finished_run(0.3, ScriptFailure::crashed));
    ScriptRun refused;  // never spawned: exec failed
    refused.failure = ScriptFailure::exec_failed;
    stats.add(refused);
    EXPECT_EQ(stats.requests, 3u);
    EXPECT_EQ(stats.failures[0], 1u);  // exec_failed
    EXPECT_EQ(stats.failures[1], 1u);  // crashed
    EXPECT_EQ(stats.total.count, 2u);
    EXPECT_EQ(stats.first_byte.count, 2u);
    EXPECT_DOUBLE_EQ(stats.cpu_seconds, 0.5);
    EXPECT_EQ(stats.max_peak_rss_bytes, 4096u);
    EXPECT_EQ(stats.bytes_sent, 20u);
}

TEST(ScriptStatsMap, CountsNamesBeyondTheCapAsOther) {
    ScriptStatsMap map;
    for (int i = 0; i < 5; ++i)
        add_script_run(map, "/cgi-bin/s" + std::to_string(i), finished_run(0.1), 3);
    add_script_run(map, "/cgi-bin/s0", finished_run(0.1), 3);  // a known name stays itself
    ASSERT_EQ(map.size(), 4u);
    EXPECT_EQ(map["/cgi-bin/s0"].requests, 2u);
    EXPECT_EQ(map[kOtherScripts].requests, 2u);
    EXPECT_FALSE(map.contains("/cgi-bin/s4"));
}

TEST(ScriptStatsMap, MergesWorkersAndKeepsTheCap) {
    ScriptStatsMap worker_a;
    ScriptStatsMap worker_b;
    add_script_run(worker_a, "/a", finished_run(0.1), 2);
    add_script_run(worker_a, "/b", finished_run(0.1), 2);
    add_script_run(worker_b, "/b", finished_run(0.2), 2);
    add_script_run(worker_b, "/c", finished_run(0.2), 2);
    ScriptStatsMap merged;
    merge_script_stats(merged, worker_a, 2);
    merge_script_stats(merged, worker_b, 2);
    EXPECT_EQ(merged["/a"].requests, 1u);
    EXPECT_EQ(merged["/b"].requests, 2u);
    EXPECT_EQ(merged["/b"].total.count, 2u);
    EXPECT_EQ(merged[kOtherScripts].requests, 1u);  // "/c" found the table full
}

TEST(WorkerMetrics, SumsStatusClassesAndBytesAcrossWorkers) {
    ServerMetrics metrics;
    bool first_samples = false;
    bool second_samples = true;
    WorkerMetrics& a = metrics.add_worker(&first_samples);
    WorkerMetrics& b = metrics.add_worker(&second_samples);
    EXPECT_TRUE(first_samples);
    EXPECT_FALSE(second_samples);
    a.count_response(200, 100);
    a.count_response(404, 5);
    b.count_response(200, 1);
    b.count_response(503, 0);
    b.count_response(99, 0);  // no class: not counted as a response
    a.connection_opened();
    a.connection_opened();
    a.connection_closed();
    b.bytes_received().add(42);
    ServerTotals totals = metrics.totals();
    EXPECT_EQ(totals.responses[1], 2u);
    EXPECT_EQ(totals.responses[3], 1u);
    EXPECT_EQ(totals.responses[4], 1u);
    EXPECT_EQ(totals.requests(), 4u);
    EXPECT_EQ(totals.bytes_sent, 106u);
    EXPECT_EQ(totals.bytes_received, 42u);
    EXPECT_EQ(totals.connections_open(), 1u);
}

TEST(WorkerMetrics, ScriptCountsWrittenOnOtherThreadsAreAllMerged) {
    ServerMetrics metrics;
    WorkerMetrics& a = metrics.add_worker(nullptr);
    WorkerMetrics& b = metrics.add_worker(nullptr);
    constexpr int kRuns = 1000;
    auto run_many = [](WorkerMetrics& worker) {
        for (int i = 0; i < kRuns; ++i) {
            worker.script_spawned();
            worker.count_script("/cgi-bin/t", finished_run(0.01, ScriptFailure::timed_out));
        }
    };
    std::thread first(run_many, std::ref(a));
    std::thread second(run_many, std::ref(b));
    // Reading while they write must be safe (ASan/TSan builds check it) and never overcount.
    for (int i = 0; i < 50; ++i)
        EXPECT_LE(metrics.scripts()["/cgi-bin/t"].requests, 2u * kRuns);
    first.join();
    second.join();
    ScriptStatsMap scripts = metrics.scripts();
    EXPECT_EQ(scripts["/cgi-bin/t"].requests, 2u * kRuns);
    EXPECT_EQ(scripts["/cgi-bin/t"].failures[2], 2u * kRuns);  // timed_out
    ServerTotals totals = metrics.totals();
    EXPECT_EQ(totals.spawns, 2u * kRuns);
    EXPECT_EQ(totals.script_runs, 2u * kRuns);
    EXPECT_EQ(totals.failures[2], 2u * kRuns);
    EXPECT_NEAR(totals.script_seconds, 2 * kRuns * 0.01, 1e-6);
}

TEST(MetricsHistory, TurnsReadingsIntoRatesAndKeepsTheNewestSamples) {
    MetricsHistory history(3);
    ServerTotals totals;
    history.record(totals, 0, 100);  // the base: no sample yet
    EXPECT_TRUE(history.samples().empty());
    for (int second = 1; second <= 5; ++second) {
        totals.responses[1] += 10 * static_cast<uint64_t>(second);
        totals.spawns += 2;
        if (second % 2 == 1) {
            totals.script_runs += 2;
            totals.script_seconds += 0.5;
        }
        history.record(totals, 2, 100 + second);
    }
    auto samples = history.samples();
    ASSERT_EQ(samples.size(), 3u);
    EXPECT_EQ(samples[0].time, 103);
    EXPECT_EQ(samples[2].time, 105);
    EXPECT_DOUBLE_EQ(samples[0].requests_per_second, 15);  // 30 requests over 2 s
    EXPECT_DOUBLE_EQ(samples[2].requests_per_second, 25);
    EXPECT_DOUBLE_EQ(samples[1].spawns_per_second, 1);
    EXPECT_DOUBLE_EQ(samples[0].script_mean_seconds, 0.25);
    EXPECT_LT(samples[1].script_mean_seconds, 0);  // no script ended in that interval
}

TEST(MetricsHistory, NeverReportsANegativeRateWhenAReadingLags) {
    MetricsHistory history(4);
    ServerTotals totals;
    totals.responses[1] = 10;
    history.record(totals, 0, 1);
    totals.responses[1] = 9;
    history.record(totals, 1, 2);
    ASSERT_EQ(history.samples().size(), 1u);
    EXPECT_EQ(history.samples()[0].requests_per_second, 0);
}

}  // namespace
}  // namespace cgihost
