using Platform.Perf.LoadGen.Verification;

namespace Platform.Tests.Perf;

/// <summary>
/// How LoadGen reads ingest's Prometheus exposition: gauges by name, and freshness percentiles from the growth of the ship
/// lag histogram between two scrapes, interpolated within a bucket as Prometheus' histogram_quantile does.
/// </summary>
public sealed class IngestMetricsTests
{
    private const string Before = """
        # TYPE platform_ingest_ship_lag_seconds histogram
        platform_ingest_ship_lag_seconds_bucket{otel_scope_name="Platform.Ingest",le="0.5"} 10
        platform_ingest_ship_lag_seconds_bucket{otel_scope_name="Platform.Ingest",le="1"} 10
        platform_ingest_ship_lag_seconds_bucket{otel_scope_name="Platform.Ingest",le="2"} 10
        platform_ingest_ship_lag_seconds_bucket{otel_scope_name="Platform.Ingest",le="+Inf"} 10
        platform_ingest_log_bytes{otel_scope_name="Platform.Ingest"} 0
        platform_ingest_storage_errors_total{otel_scope_name="Platform.Ingest"} 2
        """;

    // 100 more observations: 50 in (0.5, 1], 40 in (1, 2], 10 above 2.
    private const string After = """
        platform_ingest_ship_lag_seconds_bucket{otel_scope_name="Platform.Ingest",le="0.5"} 10
        platform_ingest_ship_lag_seconds_bucket{otel_scope_name="Platform.Ingest",le="1"} 60
        platform_ingest_ship_lag_seconds_bucket{otel_scope_name="Platform.Ingest",le="2"} 100
        platform_ingest_ship_lag_seconds_bucket{otel_scope_name="Platform.Ingest",le="+Inf"} 110
        platform_ingest_log_bytes{otel_scope_name="Platform.Ingest"} 123456
        platform_ingest_storage_errors_total{otel_scope_name="Platform.Ingest"} 5
        """;

    [Fact]
    public void Percentiles_come_from_the_histograms_growth_between_two_scrapes()
    {
        var before = IngestMetrics.Parse(Before).ShipLag;
        var after = IngestMetrics.Parse(After).ShipLag!;

        Assert.Equal(100, IngestMetrics.Count(before, after));
        Assert.Equal(1.0, IngestMetrics.Quantile(before, after, 0.50)!.Value, 6);
        Assert.Equal(1.75, IngestMetrics.Quantile(before, after, 0.80)!.Value, 6);
        // In the unbounded bucket: the highest finite bound, as histogram_quantile answers.
        Assert.Equal(2.0, IngestMetrics.Quantile(before, after, 0.99)!.Value, 6);
    }

    [Fact]
    public void A_histogram_that_did_not_grow_has_no_percentile()
    {
        var before = IngestMetrics.Parse(Before).ShipLag;

        Assert.Null(IngestMetrics.Quantile(before, before!, 0.5));
    }

    [Fact]
    public void Gauges_and_counters_are_read_by_name_and_are_null_where_ingest_has_no_log()
    {
        var metrics = IngestMetrics.Parse(After);
        var withoutLog = IngestMetrics.Parse("platform_ingest_events_accepted_total 5\n");

        Assert.Equal(123456, metrics.LogBytes);
        Assert.Equal(5, metrics.StorageErrors);
        Assert.Null(withoutLog.LogBytes);
        Assert.Null(withoutLog.ShipLag);
    }
}
