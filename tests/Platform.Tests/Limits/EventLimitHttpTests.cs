using System.Net;
using Platform.Tests.Integration;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Limits;

/// <summary>Per-tenant events-per-second limits through the real ingest over HTTP (DuckDB, no Redis: local buckets).</summary>
public sealed class EventLimitHttpTests
{
    private static IngestHost Host(double eventsPerSecond, double burst) => new(new Dictionary<string, string?>
    {
        ["EventLimits:Tenants:flood:EventsPerSecond"] = eventsPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["EventLimits:Tenants:flood:Burst"] = burst.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    private static string Events(int count, string prefix) => Batch(count, i => Event(userId: $"{prefix}-{i}"));

    [Fact]
    public async Task A_tenant_over_its_limit_gets_429_with_Retry_After_and_nothing_of_the_request_is_stored()
    {
        using var host = Host(eventsPerSecond: 1, burst: 10);

        var first = await host.PostAsync(Events(10, "a"), "flood");
        var second = await host.PostAsync(Events(5, "b"), "flood");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal((HttpStatusCode)429, second.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), second.Headers.RetryAfter?.Delta);
        var body = await ContractBody.ReadAsync(second);
        Assert.False(body.Success);
        Assert.Contains("events-per-second limit", body.Message, StringComparison.Ordinal);
        Assert.Equal(10, (await host.Store.CountAsync("flood", default)).Events);
    }

    [Fact]
    public async Task Retry_After_is_the_time_until_the_bucket_holds_a_token_again()
    {
        using var host = Host(eventsPerSecond: 1, burst: 10);

        // Admitted while the bucket holds a token, then charged whole: 10 - 50 = 40 events of debt at 1 event/s.
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync(Events(50, "a"), "flood")).StatusCode);
        var refused = await host.PostAsync(Events(1, "b"), "flood");

        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 40, 41);
    }

    [Fact]
    public async Task A_tenant_in_debt_is_refused_at_the_door_before_its_body_is_read()
    {
        using var host = Host(eventsPerSecond: 1, burst: 10);
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync(Events(10, "a"), "flood")).StatusCode);
        Assert.Equal((HttpStatusCode)429, (await host.PostAsync(Events(1, "b"), "flood")).StatusCode);

        // Not even parsed: a body that would be a 400 is answered 429.
        var refused = await host.PostAsync("not json at all", "flood");

        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
    }

    [Fact]
    public async Task A_flooding_tenant_costs_another_tenant_no_refusal()
    {
        using var host = Host(eventsPerSecond: 1, burst: 10);
        for (var i = 0; i < 5; i++)
        {
            await host.PostAsync(Events(10, $"flood-{i}"), "flood");
        }

        var quiet = await host.PostAsync(Events(500, "quiet"), "quiet");

        Assert.Equal(HttpStatusCode.OK, quiet.StatusCode);
        Assert.Equal(500, (await host.Store.CountAsync("quiet", default)).Events);
    }

    [Fact]
    public async Task An_invalid_request_still_counts_against_the_limit_and_is_answered_400()
    {
        using var host = Host(eventsPerSecond: 1, burst: 10);

        var invalid = await host.PostAsync(Batch(20, i => Event(groupId: null, userId: $"u{i}")), "flood");
        var next = await host.PostAsync(Events(1, "a"), "flood");

        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal((HttpStatusCode)429, next.StatusCode);
    }

    [Fact]
    public async Task With_limits_off_nothing_is_refused()
    {
        using var host = new IngestHost(new Dictionary<string, string?>
        {
            ["EventLimits:Enabled"] = "false",
            ["EventLimits:EventsPerSecond"] = "1",
            ["EventLimits:Burst"] = "1",
        });

        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync(Events(100, "a"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.PostAsync(Events(100, "b"))).StatusCode);
    }
}
