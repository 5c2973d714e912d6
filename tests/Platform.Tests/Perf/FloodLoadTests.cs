using Platform.Perf.LoadGen.Flood;
using Platform.Perf.LoadGen.Verification;
using Platform.Tests.Gateway;
using Platform.Tests.Integration;
using Platform.Tests.Servers;
using Platform.Tests.Storage.ClickHouse;

namespace Platform.Tests.Perf;

/// <summary>
/// A bounded run of the benchmark's noisy-neighbour scenario (LoadGen's flood scenario) against the real ingest over HTTP:
/// ten quiet tenants alone, then again while one tenant floods with 1,000-event requests far beyond its events-per-second
/// limit. The quiet tenants get no refusal at all, the flood is refused with Retry-After and held to its limit, and every
/// acked event of every tenant is stored. No timing assertions: latencies are reported by the benchmark, not judged here.
/// </summary>
public sealed class FloodLoadTests
{
    private const string FloodTenant = "flood";
    private const double FloodLimit = 2_000;
    private const double FloodBurst = 2_000;

    internal static Dictionary<string, string?> Limits() => new()
    {
        [$"EventLimits:Tenants:{FloodTenant}:EventsPerSecond"] = "2000",
        [$"EventLimits:Tenants:{FloodTenant}:Burst"] = "2000",
    };

    internal static FloodSettings Settings(Uri target, Func<string, string> token) => new()
    {
        Target = target,
        FloodTenant = FloodTenant,
        FloodToken = token(FloodTenant),
        FloodConcurrency = 8,
        FloodEvents = 1_000,
        FloodEventsPerSecond = FloodLimit,
        FloodBurst = FloodBurst,
        Quiet = [.. Enumerable.Range(1, 10).Select(i => new QuietTenant($"quiet-{i:D2}", token($"quiet-{i:D2}")))],
        QuietRate = 4,
        QuietEvents = 20,
        Baseline = TimeSpan.FromSeconds(3),
        Duration = TimeSpan.FromSeconds(3),
        Lead = TimeSpan.FromSeconds(1),
    };

    /// <summary>What must hold in every run, whatever the machine: the report's failures, and that the flood was in fact refused.</summary>
    internal static void AssertFair(FloodReport report, FloodOutcome outcome)
    {
        Assert.True(report.Failures.Count == 0, string.Join("\n", report.Failures));
        Assert.Equal(0, report.QuietRefusals);
        Assert.All(outcome.Baseline.Concat(outcome.UnderFlood), run => Assert.True(run.Result.Ok > 0, $"{run.Tenant} sent nothing"));
        Assert.True(report.FloodRefused429 > 0, "the flood was never refused: it did not flood");
        Assert.True(outcome.Flood.Result.DistinctEventsAcked > 0, "the flood got nothing acked");
        Assert.Equal(0, report.FloodOutsideContract);
        Assert.True(outcome.Flood.Result.DistinctEventsAcked <= report.FloodBound, $"{outcome.Flood.Result.DistinctEventsAcked} flood events acked, bound {report.FloodBound}");
    }

    [Fact]
    public async Task On_the_embedded_backend_a_flood_costs_quiet_tenants_no_refusal_and_every_acked_event_is_stored()
    {
        using var host = new IngestHost(Limits());
        await SmokeLoad.WarmUpAsync(host.Client.BaseAddress!, host.Token("warm-up"));

        var outcome = await FloodScenario.RunAsync(Settings(host.Client.BaseAddress!, tenant => host.Token(tenant)));
        try
        {
            AssertFair(new FloodReport(outcome), outcome);
            foreach (var tenant in outcome.All.GroupBy(r => r.Tenant))
            {
                Assert.Equal(tenant.Sum(r => r.Result.DistinctEventsAcked), (await host.Store.CountAsync(tenant.Key, default)).Events);
            }
        }
        finally
        {
            foreach (var run in outcome.All)
            {
                run.Engine.Dispose();
            }
        }
    }
}

/// <summary>The same scenario on the production backends: ClickHouse behind the write-ahead log, Redis dedup, and the event limits in Redis.</summary>
[Collection(ClickHouseServerGroup.Name)]
public sealed class ClickHouseFloodLoadTests(ClickHouseFixture fixture, RedisFixture redis) : IAsyncLifetime
{
    private RedisDatabase _redis = null!;

    public async Task InitializeAsync() => _redis = await redis.NewDatabaseAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task On_clickhouse_and_redis_a_flood_costs_quiet_tenants_no_refusal_and_every_acked_event_is_stored_once()
    {
        var database = ClickHouseFixture.NewDatabase();
        var settings = FloodLoadTests.Limits();
        settings["Storage:ClickHouse:Database"] = database;
        settings["Dedup:Backend"] = "Redis";
        settings["Dedup:Redis:ConnectionString"] = _redis.ConnectionString;
        settings["Redis:ConnectionString"] = _redis.ConnectionString;
        using var host = ClickHouseHosts.Create(fixture.Server, settings);
        var clickHouse = fixture.Server.HttpAddress;
        // Every event row inserted, also into a table that never merges rows away: "stored once" counts raw rows.
        using (var http = new HttpClient())
        using (var sql = new StringContent(
            $"CREATE MATERIALIZED VIEW {database}.events_raw ENGINE = MergeTree() ORDER BY (tenant, event_id) AS SELECT tenant, event_id, message_id FROM {database}.events"))
        using (var created = await http.PostAsync(clickHouse, sql))
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        await SmokeLoad.WarmUpAsync(host.Client.BaseAddress!, host.Token("warm-up"));

        var outcome = await FloodScenario.RunAsync(FloodLoadTests.Settings(host.Client.BaseAddress!, tenant => host.Token(tenant)));
        try
        {
            using var verifier = new StorageVerifier(new VerifySettings { ClickHouse = clickHouse, Database = database, RawEventsTable = $"{database}.events_raw" });
            var verifications = new Dictionary<TenantRun, StorageVerification>();
            foreach (var run in outcome.All)
            {
                verifications[run] = await verifier.VerifyAsync(run.Result, run.Engine.Events, before: null);
            }

            FloodLoadTests.AssertFair(new FloodReport(outcome, verifications), outcome);
        }
        finally
        {
            foreach (var run in outcome.All)
            {
                run.Engine.Dispose();
            }
        }
    }
}
