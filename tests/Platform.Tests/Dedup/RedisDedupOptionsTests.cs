using Platform.Ingest.Dedup;

namespace Platform.Tests.Dedup;

/// <summary>The owner lease settings are checked against each other at start, with a message naming the keys.</summary>
public sealed class RedisDedupOptionsTests
{
    private static string[] Problems(Action<RedisDedupOptions> adjust)
    {
        var options = new DedupOptions { Backend = DedupBackends.Redis };
        options.Redis.ConnectionString = "127.0.0.1:6379";
        adjust(options.Redis);
        var result = new DedupOptionsValidator().Validate(null, options);
        return result.Failed ? [.. result.Failures!] : [];
    }

    [Fact]
    public void The_defaults_are_valid()
    {
        Assert.Empty(Problems(_ => { }));
    }

    [Fact]
    public void An_owner_lease_not_shorter_than_the_reservation_ttl_is_refused()
    {
        var problem = Assert.Single(Problems(o => (o.OwnerLease, o.ReservationTtl) = (TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30))));

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
}
