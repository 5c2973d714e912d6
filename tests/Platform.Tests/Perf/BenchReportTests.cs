using Platform.Perf.Bench.Results;
using Platform.Perf.LoadGen.Engine;
using Platform.Perf.LoadGen.Reporting;
using Platform.Perf.LoadGen.Verification;

namespace Platform.Tests.Perf;

/// <summary>
/// The benchmark's results.md from scenario directories as run.sh leaves them, with LoadGen's own reports in them: the
/// ratios come from the same run's baselines, and a failed check, an error answer or a missing run fails the report.
/// </summary>
public sealed class BenchReportTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("platform-bench-report-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_clean_run_passes_with_its_ratios_to_both_baselines_and_cpu_per_thousand_events()
    {
        Scenario("01-clickhouse-baseline", "baseline=clickhouse", ("load", Run(Workload.ClickHouseInsert, requests: 10)));
        Scenario("02-ingest-direct-closed", "baseline=ingest-direct", ("load", Run(Workload.GroupApi, requests: 8)));
        Scenario("03-gateway-closed", "cpu_ms_gateway=400", ("load", Run(Workload.GroupApi, requests: 4)));

        var results = BenchResults.Load(_directory);
        var markdown = ResultsMarkdown.Write(results);

        Assert.Empty(results.Problems());
        // 400 events in 10 s against 1,000 and 800: 0.40 of the ClickHouse baseline, 0.50 of ingest direct.
        Assert.Contains("| 03-gateway-closed | closed, 4 senders | 40 |  |", markdown, StringComparison.Ordinal);
        Assert.Contains("| passed (1 checks) | 0.40 | 0.50 |", markdown, StringComparison.Ordinal);
        // 400 CPU-ms of the gateway over 400 events.
        Assert.Contains("| 03-gateway-closed | 400 | 10.0 s | 1000.0 |", markdown, StringComparison.Ordinal);
        Assert.Contains("Result: every check passed.", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_verification_fails_the_report_and_is_marked_in_the_table()
    {
        var run = Run(Workload.GroupApi, requests: 4) with
        {
            Verification = new StorageVerification([new VerificationCheck("stored events = distinct events acked", 400, 399)]),
        };
        Scenario("01-gateway-closed", "", ("load", run));

        var results = BenchResults.Load(_directory);
        var markdown = ResultsMarkdown.Write(results);

        var problem = Assert.Single(results.Problems());
        Assert.Contains("stored events = distinct events acked: expected 400, found 399", problem, StringComparison.Ordinal);
        Assert.Contains("| FAILED |", markdown, StringComparison.Ordinal);
        Assert.Contains("Result: FAILED.", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void An_error_answer_fails_the_report()
    {
        Scenario("01-retry-storm", "", ("load", Run(Workload.GroupApi, requests: 4, failed: 1)));

        var problem = Assert.Single(BenchResults.Load(_directory).Problems());

        Assert.Contains("1 of 5 load requests failed", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_load_generator_that_wrote_no_summary_fails_the_report()
    {
        Scenario("01-gateway-closed", "exit_load=134");

        var problems = BenchResults.Load(_directory).Problems();

        Assert.Contains(problems, p => p.Contains("exited 134", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("wrote no summary", StringComparison.Ordinal));
    }

    [Fact]
    public void The_outage_scenario_reports_errors_log_growth_drain_time_and_freshness_from_the_log_scrapes()
    {
        // Stopped at 1000 s (gone at 1000.5 s), answering again at 1020 s; the log was at 1 MB before, peaked at 50 MB, and was back at 1 MB
        // 3 s after the return.
        double[] bytes = [1, 1, 10, 30, 50, 40, 20, 1, 1];
        double[] at = [995, 999, 1005, 1015, 1020, 1021, 1022, 1023, 1030];
        var run = Run(Workload.GroupApi, requests: 4) with
        {
            Ingest = new IngestObservation
            {
                ShipLagCount = 4,
                ShipLagP50Seconds = 0.6,
                ShipLagP95Seconds = 18,
                ShipLagP99Seconds = 21,
                PeakLogBytes = 50 * 1048576.0,
                LogMaxBytes = 1024 * 1048576.0,
                DrainWaitSeconds = 0.5,
                LogBytesLeft = 0,
                StorageErrors = 7,
                Samples = [.. at.Select((t, i) => new LogSample(t, t - 995, bytes[i] * 1048576, 1, t >= 1000 && t < 1023 ? t - 1000 : 0.5))],
            },
        };
        Scenario("01-clickhouse-outage", "kind=outage clickhouse_stopped_at=1000.0 clickhouse_gone_at=1000.5 clickhouse_returned_at=1020.0", ("load", run));

        var results = BenchResults.Load(_directory);
        var markdown = ResultsMarkdown.Write(results);

        Assert.Empty(results.Problems());
        Assert.Contains("| ClickHouse away (process gone → answering again) | 19.5 s |", markdown, StringComparison.Ordinal);
        Assert.Contains("| stop signal → process gone | 0.5 s |", markdown, StringComparison.Ordinal);
        Assert.Contains("| client-visible errors (non-200 by status) | none |", markdown, StringComparison.Ordinal);
        Assert.Contains("| failed ClickHouse inserts (retried by the shipper) | 7 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| log before the stop → peak during the outage | 1.0 MB → 50.0 MB (of 1024.0 MB; oldest unshipped event up to 22.0 s old) |", markdown, StringComparison.Ordinal);
        Assert.Contains("| drained after ClickHouse's return | 3.0 s |", markdown, StringComparison.Ordinal);
        Assert.Contains("| freshness p50 / p95 / p99 over the run | 600 ms / 18.0 s / 21.0 s |", markdown, StringComparison.Ordinal);
        Assert.Contains("| storage check after the drain (every acked event stored exactly once) | passed (1 checks) |", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void An_outage_after_which_clickhouse_did_not_return_fails_the_report()
    {
        Scenario("01-clickhouse-outage", "kind=outage clickhouse_stopped_at=1000.0", ("load", Run(Workload.GroupApi, requests: 4)));

        var results = BenchResults.Load(_directory);

        Assert.Contains(results.Problems(), p => p.Contains("ClickHouse did not come back", StringComparison.Ordinal));
        Assert.Contains("| drained after ClickHouse's return | not before the drain timeout |", ResultsMarkdown.Write(results), StringComparison.Ordinal);
    }

    [Fact]
    public void The_noisy_neighbour_scenario_reports_the_flood_runs_own_figures_and_its_failures_fail_the_report()
    {
        Scenario("01-noisy-neighbours", "kind=flood exit_flood=1 cpu_ms_ingest=5000");
        var flood = Path.Combine(_directory, "01-noisy-neighbours", "flood");
        Directory.CreateDirectory(flood);
        File.WriteAllText(Path.Combine(flood, "flood.md"), "| **all quiet tenants** | **10.0 ms** |\n");
        File.WriteAllText(Path.Combine(flood, "flood.json"), """{ "failures": ["quiet tenant q1 was refused 1 of 80 requests under the flood"] }""");

        var results = BenchResults.Load(_directory);
        var markdown = ResultsMarkdown.Write(results);

        Assert.Contains("## Noisy neighbours", markdown, StringComparison.Ordinal);
        Assert.Contains("| **all quiet tenants** | **10.0 ms** |", markdown, StringComparison.Ordinal);
        Assert.Contains("ingest 5.0 s", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("wrote no summary", string.Join(' ', results.Problems()), StringComparison.Ordinal);
        Assert.Contains(results.Problems(), p => p.EndsWith("quiet tenant q1 was refused 1 of 80 requests under the flood", StringComparison.Ordinal));
        Assert.Contains(results.Problems(), p => p.Contains("exited 1", StringComparison.Ordinal));
    }

    [Fact]
    public void A_flood_run_that_wrote_no_report_fails_the_report()
    {
        Scenario("01-noisy-neighbours", "kind=flood exit_flood=0");

        Assert.Contains(BenchResults.Load(_directory).Problems(), p => p.Contains("the flood run wrote no summary", StringComparison.Ordinal));
    }

    private static LoadResult Run(Workload workload, int requests, int failed = 0)
    {
        var settings = new LoadSettings
        {
            Target = new Uri("http://127.0.0.1:1/"),
            Token = "token",
            Tenant = "bench",
            Workload = workload,
            Model = LoadModel.Closed,
            Concurrency = requests,
            Requests = requests + failed,
        };
        var recorder = new LoadRecorder();
        for (var i = 0; i < requests; i++)
        {
            long[] events = [.. Enumerable.Range(i * 100, 100).Select(n => (long)n)];
            recorder.Record(0, new RequestOutcome(200, 1_000, 1_000, events, Accepted: 100, Duplicates: 0, Rows: workload == Workload.ClickHouseInsert ? 1_000 : 0));
        }

        for (var i = 0; i < failed; i++)
        {
            recorder.Record(0, new RequestOutcome(503, 1_000, 1_000, [], 0, 0, Error: "503: busy"));
        }

        var result = recorder.ToResult(settings, TimeSpan.FromSeconds(10), (requests + failed) * 100L);
        return result with
        {
            Verification = new StorageVerification([new VerificationCheck("stored events = distinct events acked", result.DistinctEventsAcked, result.DistinctEventsAcked)]),
        };
    }

    private void Scenario(string directory, string info, params (string Name, LoadResult Result)[] runs)
    {
        var path = Path.Combine(_directory, directory);
        Directory.CreateDirectory(path);
        var lines = new List<string> { $"name={directory}", $"title={directory}", "wall_s=10" };
        lines.AddRange(info.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        foreach (var (name, result) in runs)
        {
            lines.Add($"exit_{name}=0");
            Reports.Write(result, Path.Combine(path, name), []);
        }

        File.WriteAllLines(Path.Combine(path, "scenario.txt"), lines);
    }
}
