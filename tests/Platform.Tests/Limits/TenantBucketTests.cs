using Platform.Ingest.Limits;

namespace Platform.Tests.Limits;

/// <summary>One tenant's events-per-second bucket: the arithmetic both the local limits and Redis's script follow.</summary>
public sealed class TenantBucketTests
{
    private const long Frequency = 1_000_000;

    [Fact]
    public void A_tenant_is_admitted_while_its_bucket_holds_a_token_and_charged_each_request_whole()
    {
        var bucket = new TenantBucket(eventsPerSecond: 100, burst: 250, now: 0);

        Assert.True(Charge(bucket, 0, 100));
        Assert.True(Charge(bucket, 0, 100));
        Assert.True(Charge(bucket, 0, 100));

        // 250 - 300 = -50: in debt, refused until the refill has brought it back to one token (51 events at 100/s).
        Assert.False(Charge(bucket, 0, 1, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(0.51), retryAfter);
        Assert.False(Charge(bucket, 500_000, 1));
        Assert.True(Charge(bucket, 510_000, 1));
    }

    [Fact]
    public void The_refill_never_exceeds_the_burst()
    {
        var bucket = new TenantBucket(eventsPerSecond: 10, burst: 20, now: 0);

        Assert.True(Charge(bucket, 3_600 * Frequency, 20));
        Assert.False(Charge(bucket, 3_600 * Frequency, 1, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(0.1), retryAfter);
    }

    [Fact]
    public void At_the_door_a_tenant_in_debt_is_refused_with_the_wait_until_it_holds_a_token()
    {
        var bucket = new TenantBucket(eventsPerSecond: 1_000, burst: 1_000, now: 0);
        Assert.True(Charge(bucket, 0, 3_000));

        Assert.False(bucket.TryEnter(0, Frequency, out _, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(2.001), retryAfter);
        Assert.True(bucket.TryEnter(2_001_000, Frequency, out _, out _));
    }

    [Fact]
    public void Requests_let_in_and_not_yet_counted_hold_their_tenants_typical_size_so_a_burst_of_them_stops_at_the_door()
    {
        var bucket = new TenantBucket(eventsPerSecond: 1_000, burst: 1_000, now: 0);
        // The tenant's requests hold 2,000 events each: its typical size moves towards that.
        for (var i = 0; i < 20; i++)
        {
            Assert.True(bucket.TryEnter(i * 10 * Frequency, Frequency, out var provisional, out _));
            Assert.True(bucket.Settle(i * 10 * Frequency, Frequency, provisional, 2_000, force: false, out _));
        }

        // Full again; one request of a typical size is let in, the next concurrent ones are not, until it is counted.
        var now = 300 * Frequency;
        Assert.True(bucket.TryEnter(now, Frequency, out var first, out _));
        Assert.False(bucket.TryEnter(now, Frequency, out _, out _));
        Assert.True(bucket.Settle(now, Frequency, first, 10, force: false, out _));
        Assert.True(bucket.TryEnter(now, Frequency, out _, out _));
    }

    [Fact]
    public void An_abandoned_admission_gives_back_what_it_held()
    {
        var bucket = new TenantBucket(eventsPerSecond: 1, burst: 1, now: 0);

        Assert.True(bucket.TryEnter(0, Frequency, out var provisional, out _));
        Assert.False(bucket.TryEnter(0, Frequency, out _, out _));
        bucket.Abandon(provisional);

        Assert.True(bucket.TryEnter(0, Frequency, out _, out _));
    }

    [Fact]
    public void A_forced_charge_counts_even_in_debt()
    {
        var bucket = new TenantBucket(eventsPerSecond: 10, burst: 10, now: 0);
        Assert.True(Charge(bucket, 0, 10));

        Assert.True(bucket.Settle(0, Frequency, 0, 40, force: true, out _));

        Assert.False(Charge(bucket, 0, 1, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(4.1), retryAfter);
    }

    [Fact]
    public void A_state_mirrored_from_redis_replaces_the_local_count()
    {
        var bucket = new TenantBucket(eventsPerSecond: 100, burst: 1_000, now: 0);
        Assert.True(bucket.TryEnter(0, Frequency, out var provisional, out _));

        bucket.Mirror(0, provisional, 10, tokens: -199);

        Assert.False(bucket.TryEnter(0, Frequency, out _, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(2), retryAfter);
    }

    private static bool Charge(TenantBucket bucket, long now, int events) => Charge(bucket, now, events, out _);

    private static bool Charge(TenantBucket bucket, long now, int events, out TimeSpan retryAfter) =>
        bucket.Settle(now, Frequency, provisional: 0, events, force: false, out retryAfter);
}
