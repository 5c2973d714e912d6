using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Platform.Ingest.Dedup;
using Platform.Ingest.Storage.ClickHouse;
using Platform.Tests.Integration;
using Platform.Tests.Servers;
using StackExchange.Redis;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Dedup;

/// <summary>
/// Real ingest processes on one ClickHouse and one Redis, with a request caught holding a reservation: killed (SIGKILL),
/// frozen past its owner lease (SIGSTOP), or merely slow. The retry goes to a second instance, as the gateway would send it.
/// </summary>
/// <remarks>
/// How a live request is made to hold a reservation, with no test hook in ingest: its batch carries events 0 and B, where
/// event 0's identity sorts below B's, and B is reserved by another holder (this test, as a live instance would). The
/// request reserves event 0 and waits for B (up to Dedup:InFlightWait) holding event 0, exactly as it would behind a
/// slow request of another instance.
/// </remarks>
[Collection(ClickHouseServerGroup.Name)]
public sealed class OrphanedReservationProcessTests(ClickHouseFixture fixture) : IAsyncLifetime
{
    private const string Prefix = "platform:dedup:";
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);

    private readonly string _root = Directory.CreateTempSubdirectory("platform-orphans-").FullName;
    private readonly string _database = ClickHouseFixture.NewDatabase();
    private readonly List<IngestProcess> _processes = [];
    // A server of its own, not the shared one: with half-second Redis timeouts, another class's load on a shared server
    // could pass for the failures these tests are about.
    private RedisServer _redis = null!;
    private ConnectionMultiplexer _raw = null!;
    private readonly List<RedisDedupStore> _stores = [];

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _raw = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        var options = new DedupOptions { Backend = DedupBackend.Redis };
        options.Redis.ConnectionString = _redis.ConnectionString;
        options.Redis.OwnerLease = Lease;
        options.Redis.OwnerRefreshInterval = TimeSpan.FromMilliseconds(500);
        options.Redis.OperationTimeout = TimeSpan.FromMilliseconds(500);
        var blocker = new RedisDedupStore(Options.Create(options), TimeProvider.System, NullLogger<RedisDedupStore>.Instance);
        _stores.Add(blocker);
        await blocker.ConnectAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            process.Dispose();
        }

        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        await _raw.DisposeAsync();
        _redis.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file still open; the OS cleans temp.
        }
    }

    private async Task<IngestProcess> StartIngestAsync(string name, TimeSpan inFlightWait)
    {
        var ingest = await IngestProcess.StartAsync(Path.Combine(_root, "keys"), new Dictionary<string, string>
        {
            ["Storage:Backend"] = "ClickHouse",
            ["Storage:ClickHouse:ConnectionString"] = fixture.Server.ConnectionString,
            ["Storage:ClickHouse:Database"] = _database,
            ["Log:Directory"] = Path.Combine(_root, name, "log"),
            ["Shipper:MaxBlockAge"] = "00:00:00.200",
            ["Dedup:Backend"] = "Redis",
            ["Dedup:Redis:ConnectionString"] = _redis.ConnectionString,
            ["Dedup:Redis:OwnerLease"] = Lease.ToString("c"),
            ["Dedup:Redis:OwnerRefreshInterval"] = "00:00:00.500",
            ["Dedup:Redis:OperationTimeout"] = "00:00:00.500",
            ["Dedup:InFlightWait"] = inFlightWait.ToString("c"),
        });
        _processes.Add(ingest);
        return ingest;
    }

    /// <summary>Two events with message ids, the first's identity sorting below the second's (see the remarks).</summary>
    private static (string Json, UInt128 Low, UInt128 High, string LowJson) TwoEvents(string name)
    {
        for (var n = 0; ; n++)
        {
            var low = Event(userId: $"{name}-low", extra: $"\"message_id\":\"{name}-low-{n}\"");
            var high = Event(userId: $"{name}-high", extra: $"\"message_id\":\"{name}-high\"");
            var keys = Parse($"[{low},{high}]").Events.Select(e => e.Key).ToArray();
            if (keys[0] < keys[1])
            {
                return ($"[{low},{high}]", keys[0], keys[1], $"[{low}]");
            }
        }
    }

    private static RedisKey KeyOf(UInt128 identity)
    {
        var bytes = new byte[Prefix.Length + 16];
        System.Text.Encoding.UTF8.GetBytes(Prefix, bytes);
        BinaryPrimitives.WriteUInt128BigEndian(bytes.AsSpan(Prefix.Length), identity);
        return bytes;
    }

    /// <summary>The dedup store of a live instance this test plays, holding the event a request waits for.</summary>
    private RedisDedupStore Blocker => _stores[0];

    /// <summary>Reserves <paramref name="identity"/> as a live instance would; release it to let the waiting request on.</summary>
    private async Task<Func<Task>> HoldAsync(UInt128 identity)
    {
        var results = new bool[1];
        var holder = await Blocker.ReserveAsync("acme", new[] { identity }, results, CancellationToken.None);
        Assert.True(results[0]);
        return async () => await Blocker.ReleaseAsync("acme", new[] { identity }, holder, CancellationToken.None);
    }

    /// <summary>Waits (bounded) until an ingest process's request holds <paramref name="identity"/>; returns its owner token.</summary>
    private async Task<string> HeldByIngestAsync(UInt128 identity)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var value = await _raw.GetDatabase().StringGetAsync(KeyOf(identity));
            if (value.HasValue && value.ToString().StartsWith('o'))
            {
                return value.ToString();
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), "the request never reserved its first event");
            await Task.Delay(20);
        }
    }

    private async Task<(long Distinct, long Rows)> StoredAsync()
    {
        using var store = new ClickHouseEventStore(
            new ClickHouseOptions { ConnectionString = fixture.Server.ConnectionString, Database = _database },
            NullLogger<ClickHouseEventStore>.Instance);
        var distinct = (await store.CountAsync("acme", default)).Events;
        return (distinct, await fixture.Server.ScalarAsync($"SELECT count() FROM {_database}.events WHERE tenant = 'acme' FORMAT TabSeparated"));
    }

    /// <summary>Waits (bounded) until the shippers stored <paramref name="expected"/> events, then lets a late block land too.</summary>
    private async Task<(long Distinct, long Rows)> StoredOnceShippedAsync(long expected)
    {
        var deadline = Stopwatch.StartNew();
        while ((await StoredAsync()).Distinct < expected && deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(100);
        }

        await Task.Delay(TimeSpan.FromSeconds(1));
        return await StoredAsync();
    }

    /// <summary>Requests an ingest process refused for <paramref name="reason"/>, from its Prometheus scrape.</summary>
    private static async Task<double> RejectedAsync(IngestProcess ingest, string reason)
    {
        var metrics = await ingest.Client.GetStringAsync("/metrics");
        return metrics.Split('\n')
            .Where(line => line.StartsWith("platform_ingest_requests_rejected_total{", StringComparison.Ordinal)
                && line.Contains($"reason=\"{reason}\"", StringComparison.Ordinal))
            .Sum(line => double.Parse(line.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static async Task<(HttpStatusCode Status, ContractBody Body)> AnswerAsync(Task<HttpResponseMessage> sending)
    {
        using var response = await sending;
        var body = await ContractBody.ReadAsync(response);
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            Assert.NotNull(response.Headers.RetryAfter);
        }

        return (response.StatusCode, body);
    }

    [Fact]
    public async Task A_retry_after_an_ingest_is_killed_mid_request_is_stored_within_seconds_and_once()
    {
        var (json, low, high, _) = TwoEvents("killed");
        var killed = await StartIngestAsync("killed", inFlightWait: TimeSpan.FromSeconds(20));
        var other = await StartIngestAsync("other", inFlightWait: TimeSpan.FromSeconds(10));
        var releaseHigh = await HoldAsync(high);
        var original = killed.PostAsync(json);
        await HeldByIngestAsync(low);

        killed.Kill();
        await releaseHigh();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => original);
        var sinceKill = Stopwatch.StartNew();
        var (status, body) = await AnswerAsync(other.PostAsync(json));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, body.Accepted);
        Assert.InRange(sinceKill.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(8));   // about the 2 s lease, not the 60 s ReservationTtl
        Assert.Equal((2L, 2L), await StoredOnceShippedAsync(2));
        var (again, duplicates) = await AnswerAsync(other.PostAsync(json));
        Assert.Equal(HttpStatusCode.OK, again);
        Assert.Equal(2, duplicates.Duplicates);
    }

    [Fact]
    public async Task An_ingest_paused_past_its_lease_loses_the_reservation_to_the_retry_and_does_not_ack_it_when_resumed()
    {
        var (json, low, high, _) = TwoEvents("paused");
        var paused = await StartIngestAsync("paused", inFlightWait: TimeSpan.FromSeconds(20));
        var other = await StartIngestAsync("other", inFlightWait: TimeSpan.FromSeconds(10));
        var releaseHigh = await HoldAsync(high);
        var original = paused.PostAsync(json);
        await HeldByIngestAsync(low);

        await paused.PauseAsync();
        await releaseHigh();
        var sincePause = Stopwatch.StartNew();
        var (retryStatus, retryBody) = await AnswerAsync(other.PostAsync(json));
        Assert.Equal(HttpStatusCode.OK, retryStatus);
        Assert.Equal(2, retryBody.Accepted);
        Assert.InRange(sincePause.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(8));

        await paused.ResumeAsync();
        var (status, body) = await AnswerAsync(original);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("lost its claim", body.Message, StringComparison.Ordinal);
        Assert.Equal(1, await RejectedAsync(paused, "reservation_lost"));
        Assert.Equal(0, await RejectedAsync(paused, "dedup_unavailable"));
        Assert.Equal((2L, 2L), await StoredOnceShippedAsync(2));

        // The resumed instance goes on under a new owner identity; the client's retry to it is answered from Redis.
        var (resumedStatus, resumedBody) = await AnswerAsync(paused.PostAsync(json));
        Assert.Equal(HttpStatusCode.OK, resumedStatus);
        Assert.Equal(2, resumedBody.Duplicates);
    }

    [Fact]
    public async Task A_slow_but_live_ingest_keeps_its_reservation_however_long_and_the_retry_then_sees_duplicates()
    {
        var (json, low, high, lowJson) = TwoEvents("slow");
        var slow = await StartIngestAsync("slow", inFlightWait: TimeSpan.FromSeconds(25));
        var other = await StartIngestAsync("other", inFlightWait: TimeSpan.FromSeconds(3));
        var releaseHigh = await HoldAsync(high);
        var original = slow.PostAsync(json);
        var token = await HeldByIngestAsync(low);

        // Held for well over three leases: the retry waits, is told the event is being stored, and never takes it.
        await Task.Delay(2 * Lease);
        var (busy, busyBody) = await AnswerAsync(other.PostAsync(lowJson));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, busy);
        Assert.Contains("still being stored", busyBody.Message, StringComparison.Ordinal);
        Assert.Equal(1, await RejectedAsync(other, "event_in_flight"));
        Assert.Equal(0, await RejectedAsync(other, "dedup_unavailable"));
        Assert.Equal(token, (await _raw.GetDatabase().StringGetAsync(KeyOf(low))).ToString());

        await releaseHigh();
        var (status, body) = await AnswerAsync(original);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, body.Accepted);

        var (retried, retriedBody) = await AnswerAsync(other.PostAsync(lowJson));
        Assert.Equal(HttpStatusCode.OK, retried);
        Assert.Equal(1, retriedBody.Duplicates);
        Assert.Equal((2L, 2L), await StoredOnceShippedAsync(2));
    }
}
