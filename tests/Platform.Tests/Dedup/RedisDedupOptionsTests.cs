using Microsoft.Extensions.Options;
using Platform.Ingest.Dedup;
using Platform.Ingest.Storage;
using Platform.Ingest.Writing;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Tests.Dedup;

/// <summary>The owner lease settings are checked against each other at start, with a message naming the keys.</summary>
public sealed class RedisDedupOptionsTests
{
    private static string[] Problems(Action<RedisDedupOptions> adjust, StorageBackend storage = StorageBackend.ClickHouse, WriterOptions? writer = null)
    {
        var options = new DedupOptions { Backend = DedupBackend.Redis };
        options.Redis.ConnectionString = "127.0.0.1:6379";
        adjust(options.Redis);
        var rules = new DedupOptionsRules(Options.Create(writer ?? new WriterOptions()), Options.Create(new StorageOptions { Backend = storage }));
        var result = SectionOptions.Validate<DedupOptions, DedupOptionsValidator>(DedupOptions.Section, options, rules);
        return result.Failed ? [.. result.Failures!] : [];
    }

    [Theory]
    [InlineData("DuckDb")]
    [InlineData("ClickHouse")]
    public void The_defaults_are_valid(string storage)
    {
        Assert.Empty(Problems(_ => { }, Enum.Parse<StorageBackend>(storage)));
    }

    [Fact]
    public void An_owner_lease_not_shorter_than_the_reservation_ttl_is_refused()
    {
        var problem = Assert.Single(Problems(o => (o.OwnerLease, o.ReservationTtl) = (TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5))));

        Assert.Contains("Dedup:Redis:OwnerLease", problem, StringComparison.Ordinal);
        Assert.Contains("Dedup:Redis:ReservationTtl", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_refresh_interval_above_a_third_of_the_lease_is_refused()
    {
        var problem = Assert.Single(Problems(o => o.OwnerRefreshInterval = TimeSpan.FromSeconds(2)));

        Assert.Contains("Dedup:Redis:OwnerRefreshInterval", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void An_operation_timeout_above_a_third_of_the_lease_is_refused()
    {
        var problem = Assert.Single(Problems(o => o.OperationTimeout = TimeSpan.FromSeconds(2)));

        Assert.Contains("Dedup:Redis:OperationTimeout", problem, StringComparison.Ordinal);
        Assert.Contains("Dedup:Redis:OwnerLease", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void An_owner_lease_below_half_a_second_is_refused()
    {
        Assert.Contains(Problems(o => o.OwnerLease = TimeSpan.FromMilliseconds(100)), p => p.Contains("Dedup:Redis:OwnerLease must be between", StringComparison.Ordinal));
    }

    [Fact]
    public void An_owner_lease_not_shorter_than_the_in_flight_wait_is_refused()
    {
        // The default wait is 10 s: a retry after a crash would wait out its whole wait and still find the lease alive.
        var problem = Assert.Single(Problems(o => (o.OwnerLease, o.ReservationTtl) = (TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60))));

        Assert.Contains("Dedup:Redis:OwnerLease", problem, StringComparison.Ordinal);
        Assert.Contains("Dedup:InFlightWait", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void On_duckdb_a_reservation_ttl_not_above_the_writers_insert_timeout_is_refused()
    {
        var writer = new WriterOptions { InsertTimeout = TimeSpan.FromSeconds(30), MaxBatchDelay = TimeSpan.FromMilliseconds(500) };

        var problem = Assert.Single(Problems(o => o.ReservationTtl = TimeSpan.FromSeconds(30), StorageBackend.DuckDb, writer));

        Assert.Contains("Dedup:Redis:ReservationTtl", problem, StringComparison.Ordinal);
        Assert.Contains("Writer:InsertTimeout", problem, StringComparison.Ordinal);
        Assert.Empty(Problems(o => o.ReservationTtl = TimeSpan.FromSeconds(31), StorageBackend.DuckDb, writer));
    }

    [Fact]
    public void Behind_the_write_ahead_log_the_writers_insert_timeout_does_not_bound_the_reservation_ttl()
    {
        // Writer:InsertTimeout is the DuckDB writer's; behind the log a request holds its reservations until its fsync.
        var writer = new WriterOptions { InsertTimeout = TimeSpan.FromMinutes(5) };

        Assert.Empty(Problems(_ => { }, StorageBackend.ClickHouse, writer));
    }
}
