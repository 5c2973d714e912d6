using System.Globalization;
using Platform.Perf.LoadGen.Engine;
using Platform.Perf.LoadGen.Verification;
using Platform.Tests.Gateway;
using Platform.Tests.Integration;
using Platform.Tests.Servers;
using Platform.Tests.Storage.ClickHouse;

namespace Platform.Tests.Perf;

/// <summary>
/// The smoke load of <see cref="SmokeLoadTests"/> on the production backends: ClickHouse storage and Redis dedup (and, through
/// the gateway, Redis rate limits on the same Redis). Every request is answered 200, the service accepts exactly the distinct
/// events acked, and ClickHouse holds each of them exactly once. "Once" is counted on a plain MergeTree copy of the events
/// table fed by a materialized view, which never collapses a duplicate the way the events table's ReplacingMergeTree may
/// already have in a background merge. No timing thresholds.
/// </summary>
[Collection(ClickHouseServerGroup.Name)]
public sealed class ClickHouseRedisSmokeLoadTests(ClickHouseFixture fixture, RedisFixture redis) : IAsyncLifetime
{
    private const string Tenant = "smoke";

    private RedisDatabase _redis = null!;

    public async Task InitializeAsync() => _redis = await redis.NewDatabaseAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Ingest_on_clickhouse_and_redis_under_a_smoke_load_with_retries_stores_every_distinct_acked_event_once()
    {
        var database = ClickHouseFixture.NewDatabase();
        using var host = Host(database);
        await CreateRawCopyAsync(database);
        await SmokeLoad.WarmUpAsync(host.Client.BaseAddress!, host.Token("warm-up"));
        using var engine = new LoadEngine(SmokeLoad.Settings(host.Client.BaseAddress!, host.Token(Tenant)) with { Tenant = Tenant });

        var result = await engine.RunAsync();

        await AssertEveryDistinctAckedEventStoredOnceAsync(database, host, result, engine);
    }

    [Fact]
    public async Task Gateway_and_ingest_on_clickhouse_and_redis_under_a_smoke_load_with_retries_store_every_distinct_acked_event_once()
    {
        var database = ClickHouseFixture.NewDatabase();
        using var ingest = Host(database);
        var tokens = new GatewayTokens(ingest.KeyDirectory);
        using var gateway = new GatewayHost(ingest.Client.BaseAddress!, tokens.PublicKeyFile, new Dictionary<string, string?>
        {
            ["Redis:ConnectionString"] = _redis.ConnectionString,
        });
        await CreateRawCopyAsync(database);
        await SmokeLoad.WarmUpAsync(gateway.Address, tokens.Valid("warm-up"));
        using var engine = new LoadEngine(SmokeLoad.Settings(gateway.Address, tokens.Valid(Tenant)) with { Tenant = Tenant });

        var result = await engine.RunAsync();

        await AssertEveryDistinctAckedEventStoredOnceAsync(database, ingest, result, engine);
    }

    /// <summary>Zero errors, storage holds exactly the distinct acked events, no raw row twice, and LoadGen's own checks pass.</summary>
    private async Task AssertEveryDistinctAckedEventStoredOnceAsync(string database, IngestHost ingest, LoadResult result, LoadEngine engine)
    {
        SmokeLoad.AssertClean(result);
        Assert.Equal(result.DistinctEventsAcked, (await ingest.Store.CountAsync(Tenant, default)).Events);
        Assert.Equal(result.DistinctEventsAcked, await ScalarAsync($"SELECT count() FROM {database}.events_raw WHERE tenant = '{Tenant}'"));
        var verification = await VerifyAsync(database, result, engine);
        Assert.True(verification.Passed, string.Join("; ", verification.Checks.Where(c => !c.Passed)));
    }

    [Fact]
    public async Task The_load_generators_verification_fails_when_an_event_is_stored_twice()
    {
        var database = ClickHouseFixture.NewDatabase();
        using var host = Host(database);
        await CreateRawCopyAsync(database);
        using var engine = new LoadEngine(new LoadSettings
        {
            Target = host.Client.BaseAddress!,
            Token = host.Token(Tenant),
            Tenant = Tenant,
            Model = LoadModel.Closed,
            Concurrency = 2,
            Requests = 4,
            EventsPerRequest = 20,
        });
        var result = await engine.RunAsync();
        Assert.True((await VerifyAsync(database, result, engine)).Passed);

        // What a dedup failure would leave behind: a second row of an event already stored.
        await ScalarAsync($"INSERT INTO {database}.events SELECT * FROM {database}.events WHERE tenant = '{Tenant}' LIMIT 1", expectRows: false);
        var verification = await VerifyAsync(database, result, engine);

        Assert.False(verification.Passed);
        var failed = Assert.Single(verification.Checks, c => !c.Passed);
        Assert.Equal(failed.Expected + 1, failed.Actual);
    }

    private IngestHost Host(string database) => ClickHouseHosts.Create(fixture.Server, new Dictionary<string, string?>
    {
        ["Storage:ClickHouse:Database"] = database,
        ["Dedup:Backend"] = "Redis",
        ["Dedup:Redis:ConnectionString"] = _redis.ConnectionString,
    });

    /// <summary>Every event row inserted from now on, also into a table that never merges rows away.</summary>
    private async Task CreateRawCopyAsync(string database) => await ScalarAsync(
        $"CREATE MATERIALIZED VIEW {database}.events_raw ENGINE = MergeTree() ORDER BY (tenant, event_id) AS SELECT tenant, event_id, message_id FROM {database}.events",
        expectRows: false);

    private async Task<StorageVerification> VerifyAsync(string database, LoadResult result, LoadEngine engine)
    {
        using var verifier = new StorageVerifier(new VerifySettings
        {
            ClickHouse = fixture.Server.HttpAddress,
            Database = database,
            RawEventsTable = $"{database}.events_raw",
        });
        return await verifier.VerifyAsync(result, engine.Events, before: null);
    }

    private async Task<long> ScalarAsync(string sql, bool expectRows = true)
    {
        var body = await fixture.Server.QueryAsync(sql);
        return expectRows ? long.Parse(body, CultureInfo.InvariantCulture) : 0;
    }
}
