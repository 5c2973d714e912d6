using Platform.Perf.LoadGen.Engine;
using Platform.Tests.Gateway;
using Platform.Tests.Integration;

namespace Platform.Tests.Perf;

/// <summary>
/// A short, modest open-model load with retries (about one event in five a resend) through the load generator's engine:
/// every request is answered 200 and storage holds exactly the distinct events acked. No timing thresholds: CI machines vary.
/// Each test warms the service up first (another tenant, no resends): a cold first request takes seconds here, and resends
/// of its events would wait on it.
/// </summary>
public sealed class SmokeLoadTests
{
    [Fact]
    public async Task Ingest_under_a_smoke_load_with_retries_stores_every_distinct_acked_event_once()
    {
        using var host = new IngestHost();
        await SmokeLoad.WarmUpAsync(host.Client.BaseAddress!, host.Token("warm-up"));
        using var engine = new LoadEngine(SmokeLoad.Settings(host.Client.BaseAddress!, host.Token("smoke")));

        var result = await engine.RunAsync();

        SmokeLoad.AssertClean(result);
        Assert.Equal(result.DistinctEventsAcked, (await host.Store.CountAsync("smoke", default)).Events);
    }

    [Fact]
    public async Task Gateway_and_ingest_under_a_smoke_load_with_retries_store_every_distinct_acked_event_once()
    {
        using var platform = new GatewayFixture();
        await SmokeLoad.WarmUpAsync(platform.Gateway.Address, platform.Tokens.Valid("warm-up"));
        using var engine = new LoadEngine(SmokeLoad.Settings(platform.Gateway.Address, platform.Tokens.Valid("smoke")));

        var result = await engine.RunAsync();

        SmokeLoad.AssertClean(result);
        Assert.Equal(result.DistinctEventsAcked, (await platform.Ingest.Store.CountAsync("smoke", default)).Events);
    }

    [Fact]
    public void The_load_generator_refuses_a_target_off_loopback()
    {
        var settings = SmokeLoad.Settings(new Uri("http://example.com/"), "token");

        Assert.Throws<ArgumentException>(() => new LoadEngine(settings));
    }
}

/// <summary>The smoke load, its warm-up and what a clean run means; shared by the runs on each backend.</summary>
internal static class SmokeLoad
{
    public static LoadSettings Settings(Uri target, string token) => new()
    {
        Target = target,
        Token = token,
        Model = LoadModel.Open,
        Rate = 10,
        Duration = TimeSpan.FromSeconds(3),
        Concurrency = 64,
        EventsPerRequest = 100,
        DuplicateRatio = 0.2,
    };

    public static async Task WarmUpAsync(Uri target, string token)
    {
        using var warmUp = new LoadEngine(new LoadSettings { Target = target, Token = token, Model = LoadModel.Closed, Concurrency = 2, Requests = 6 });
        await warmUp.RunAsync();
    }

    public static void AssertClean(LoadResult result)
    {
        Assert.True(result.Requests > 0, "no request was sent");
        Assert.Equal(0, result.Dropped);
        Assert.True(result.Requests == result.Ok, $"statuses: {string.Join(' ', result.Statuses.Select(s => $"{s.Key}={s.Value}"))}; {string.Join(" | ", result.ErrorSamples)}");
        Assert.True(result.DistinctEventsAcked < result.EventsAcked, "the run resent no event");
        Assert.Equal(result.EventsAcked, result.AcceptedReported + result.DuplicatesReported);
        Assert.Equal(result.DistinctEventsAcked, result.AcceptedReported);
    }
}
