using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Platform.Tests.Integration;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Telemetry;

/// <summary>Metric listeners are process-wide: these tests run alone so no other host's traffic is counted.</summary>
[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;

[Collection(nameof(RunsAlone))]
public sealed partial class MetricsTests
{
    [Fact]
    public async Task Scraped_counters_move_by_exactly_the_traffic_sent()
    {
        using var host = new IngestHost();
        var valid = Batch(3);

        using (await host.PostAsync(valid))
        using (await host.PostAsync(valid))
        using (await host.PostAsync($"[{Event()},{Event(userId: "")}]"))
        {
        }

        host.Store.FailNextInserts(1);
        using (await host.PostAsync(Batch(4, i => Event(userId: $"other-{i}"))))
        {
        }

        var metrics = await host.Client.GetStringAsync("/metrics");

        Assert.Equal(3 + 3 + 2 + 4, Sum(metrics, "platform_ingest_events_received_total"));
        Assert.Equal(3, Sum(metrics, "platform_ingest_events_accepted_total"));
        Assert.Equal(3, Sum(metrics, "platform_ingest_events_deduplicated_total"));
        Assert.Equal(2, Sum(metrics, "platform_ingest_events_rejected_total", "reason=\"invalid\""));
        Assert.Equal(4, Sum(metrics, "platform_ingest_events_rejected_total", "reason=\"storage_unavailable\""));
        Assert.Equal(1, Sum(metrics, "platform_ingest_storage_errors_total"));
        Assert.Matches(@"(?m)^platform_ingest_write_queue_depth(\{[^}]*\})? 0\b", metrics);
        // Two inserts were attempted (the first batch, and the failed one); the duplicate needed none.
        Assert.Equal(2, Sum(metrics, "platform_ingest_insert_events_count"));
        Assert.Equal(3 + 4, Sum(metrics, "platform_ingest_insert_events_sum"));
        Assert.Equal(2, Sum(metrics, "platform_ingest_insert_duration_seconds_count"));
    }

    [Fact]
    public async Task Every_ingest_series_the_dashboard_charts_is_exposed()
    {
        using var host = new IngestHost();
        using (await host.PostAsync(Batch(2)))
        using (await host.PostAsync(Batch(2)))
        using (await host.PostAsync("[]"))
        {
        }

        host.Store.FailNextInserts(1);
        using (await host.PostAsync(Batch(1, _ => Event(userId: "failing"))))
        {
        }

        var exposed = await host.Client.GetStringAsync("/metrics");
        var dashboard = await File.ReadAllTextAsync(DashboardPath);

        // The write-ahead log's series exist only on ClickHouse; ClickHouseIngestTests checks those.
        var charted = DashboardSeries().Matches(dashboard).Select(m => m.Value).Where(series => !IsLogSeries(series)).Distinct().ToList();
        Assert.NotEmpty(charted);
        Assert.All(charted, series => Assert.Matches($"(?m)^{series}[{{ ]", exposed));
    }

    /// <summary>The dashboard, shipped with the ingest chart (a ConfigMap for Grafana's sidecar).</summary>
    internal static string DashboardPath => Path.Combine(RepositoryRoot(), "charts", "ingest", "dashboards", "platform-ingestion.json");

    /// <summary>Series of the write-ahead log and its shipper, exposed only where there is a log (ClickHouse).</summary>
    internal static bool IsLogSeries(string series) =>
        series.StartsWith("platform_ingest_log_", StringComparison.Ordinal) || series.StartsWith("platform_ingest_ship_", StringComparison.Ordinal);

    /// <summary>Every ingest series the dashboard charts.</summary>
    internal static List<string> ChartedSeries() =>
        DashboardSeries().Matches(File.ReadAllText(DashboardPath))
            .Select(m => m.Value).Distinct().ToList();

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Platform.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Platform.sln not found above the test output");
    }

    [GeneratedRegex(@"(platform_ingest_[a-z_]+|http_server_request_duration_seconds_bucket)")]
    private static partial Regex DashboardSeries();

    [Fact]
    public async Task Tenant_labels_appear_only_when_enabled()
    {
        using (var unlabelled = new IngestHost())
        {
            using (await unlabelled.PostAsync(Batch(1), "tenant-x"))
            {
            }

            Assert.DoesNotContain("tenant=\"tenant-x\"", await unlabelled.Client.GetStringAsync("/metrics"), StringComparison.Ordinal);
        }

        using var labelled = new IngestHost(new Dictionary<string, string?> { ["Telemetry:TenantLabel"] = "true" });
        using (await labelled.PostAsync(Batch(2), "tenant-y"))
        {
        }

        Assert.Equal(2, Sum(await labelled.Client.GetStringAsync("/metrics"), "platform_ingest_events_accepted_total", "tenant=\"tenant-y\""));
    }

    [Fact]
    public async Task Refusals_and_queued_events_are_counted_per_tenant_by_reason()
    {
        using var host = new IngestHost(new Dictionary<string, string?>
        {
            ["Telemetry:TenantLabel"] = "true",
            ["EventLimits:Tenants:flood:EventsPerSecond"] = "1",
            ["EventLimits:Tenants:flood:Burst"] = "10",
        });
        using (await host.PostAsync(Batch(10, i => Event(userId: $"a{i}")), "flood"))
        using (await host.PostAsync(Batch(5, i => Event(userId: $"b{i}")), "flood"))
        using (await host.PostAsync("refused at the door", "flood"))
        {
        }

        host.Store.HoldInserts();
        var held = host.PostAsync(Batch(7), "quiet");
        await host.WaitForQueuedEventsAsync(7);
        var metrics = await host.Client.GetStringAsync("/metrics");
        host.Store.ReleaseInserts();
        using (await held)
        {
        }

        Assert.Equal(2, Sum(metrics, "platform_ingest_requests_rejected_total", "reason=\"rate_limited\",tenant=\"flood\""));
        // Both refused at the door, before their bodies were read: only the first request's events reached the parser.
        Assert.Equal(10, Sum(metrics, "platform_ingest_events_received_total", "tenant=\"flood\""));
        Assert.Equal(0, Sum(metrics, "platform_ingest_requests_rejected_total", "tenant=\"quiet\""));
        Assert.Equal(7, Sum(metrics, "platform_ingest_queued_events", "tenant=\"quiet\""));
        Assert.Equal(0, Sum(metrics, "platform_ingest_queued_events", "tenant=\"flood\""));
    }

    [Fact]
    public async Task The_scrape_endpoint_needs_no_token_and_answers_in_Prometheus_text()
    {
        using var host = new IngestHost();

        using var response = await host.Client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.MediaType, StringComparison.Ordinal);
    }

    /// <summary>The sum of every sample of a metric (across label sets) whose labels contain <paramref name="label"/>.</summary>
    private static double Sum(string exposition, string metric, string? label = null)
    {
        double total = 0;
        foreach (Match match in Sample().Matches(exposition))
        {
            if (match.Groups["name"].Value == metric && (label is null || match.Groups["labels"].Value.Contains(label, StringComparison.Ordinal)))
            {
                total += double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>[^}]*)\})? (?<value>[-+0-9.eE]+|NaN)", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
