using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Platform.Ingest.Dedup;
using Platform.Ingest.Storage;
using Platform.Ingest.Writing;
using Platform.ServiceDefaults.Hosting;
using Platform.Tests.Integration;
using Platform.Tests.Servers;
using StackExchange.Redis;

namespace Platform.Tests.Dedup;

/// <summary>
/// Orphaned reservations against a real redis-server: a reservation whose owner is gone is taken over within about the
/// owner lease; a live owner's never is, however long it holds it; an owner whose lease lapsed finds out.
/// </summary>
public sealed class RedisDedupTakeoverTests : IAsyncLifetime
{
    private const string Prefix = "platform:dedup:";
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The lease of an owner a test needs alive: longer, because a loaded CI machine can delay a 200 ms refresh past a
    /// one-second lease (the thread pool completes Redis's answers), and a lapsed live owner is the documented cost of a
    /// stall (a 503 and a collapsed repeat), not what these tests are about.
    /// </summary>
    private static readonly TimeSpan LiveLease = TimeSpan.FromSeconds(3);

    // A server of its own, not the shared one: with 300 ms Redis timeouts, another class's load on a shared server could
    // pass for the failures these tests are about.
    private RedisServer _redis = null!;
    private ConnectionMultiplexer _raw = null!;
    private readonly List<RedisDedupStore> _stores = [];

    public async Task InitializeAsync()
    {
        // On a 2-core CI machine the pool starts with 2 workers and adds more only after about half a second of
        // starvation, longer than these tests' 300 ms Redis timeouts: a refresh or reserve would then time out and
        // be judged a Redis failure, which is not what these tests are about.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), io);
        _redis = await RedisServer.StartAsync();
        _raw = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        await _raw.DisposeAsync();
        _redis.Dispose();
    }

    /// <summary>An ingest instance's store: a one-second owner lease refreshed every 200 ms.</summary>
    private async Task<RedisDedupStore> InstanceAsync(TimeSpan? inFlightWait = null, TimeSpan? lease = null)
    {
        var options = new DedupOptions { Backend = DedupBackend.Redis, InFlightWait = inFlightWait ?? TimeSpan.FromSeconds(10) };
        options.Redis.ConnectionString = _redis.ConnectionString;
        options.Redis.OwnerLease = lease ?? Lease;
        options.Redis.OwnerRefreshInterval = TimeSpan.FromMilliseconds(200);
        options.Redis.OperationTimeout = TimeSpan.FromMilliseconds(300);
        Assert.True(SectionOptions.Validate<DedupOptions, DedupOptionsValidator>(
            DedupOptions.Section, options, new DedupOptionsRules(Options.Create(new WriterOptions()), Options.Create(new StorageOptions()))).Succeeded);
        var store = new RedisDedupStore(Options.Create(options), TimeProvider.System, NullLogger<RedisDedupStore>.Instance);
        _stores.Add(store);
        await store.ConnectAsync(CancellationToken.None);
        return store;
    }

    private static async Task<(bool[] Results, ReservationHolder Holder)> ReserveAsync(RedisDedupStore store, params UInt128[] keys)
    {
        var results = new bool[keys.Length];
        var holder = await store.ReserveAsync("acme", keys, results, CancellationToken.None);
        return (results, holder);
    }

    private static async Task<bool[]> CommitAsync(RedisDedupStore store, ReservationHolder holder, params UInt128[] keys)
    {
        var lost = new bool[keys.Length];
        await store.CommitAsync("acme", keys, holder, lost, CancellationToken.None);
        return lost;
    }

    private static RedisKey KeyOf(UInt128 identity)
    {
        var bytes = new byte[Prefix.Length + 16];
        System.Text.Encoding.UTF8.GetBytes(Prefix, bytes);
        BinaryPrimitives.WriteUInt128BigEndian(bytes.AsSpan(Prefix.Length), identity);
        return bytes;
    }

    /// <summary>What Redis holds for an identity: an owner token, "s" once stored, or nothing.</summary>
    private Task<RedisValue> ValueOfAsync(UInt128 identity) => _raw.GetDatabase().StringGetAsync(KeyOf(identity));

    [Fact]
    public async Task A_dead_owners_reservation_is_taken_over_within_about_the_lease()
    {
        var dead = await InstanceAsync();
        await ReserveAsync(dead, 7);
        _stores.Remove(dead);
        await dead.DisposeAsync();                       // dies: no release, no more refreshes

        var retry = await InstanceAsync();
        var started = Stopwatch.StartNew();
        var (results, holder) = await ReserveAsync(retry, 7);

        Assert.Equal(new[] { true }, results);
        Assert.InRange(started.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));   // the lease, not the 60 s ReservationTtl
        Assert.Equal(new[] { false }, await CommitAsync(retry, holder, 7));
        Assert.Equal(new[] { false }, (await ReserveAsync(await InstanceAsync(), 7)).Results);
    }

    [Fact]
    public async Task A_live_owner_holding_a_reservation_longer_than_the_lease_keeps_it_and_the_retry_then_sees_a_duplicate()
    {
        var slow = await InstanceAsync(lease: LiveLease);
        var (_, slowHolder) = await ReserveAsync(slow, 7);
        var retry = await InstanceAsync(inFlightWait: 2 * LiveLease, lease: LiveLease);

        // The retry waits two leases for the live owner and is told the event is in flight, never given it.
        await Assert.ThrowsAsync<DedupUnavailableException>(() => ReserveAsync(retry, 7));
        await slowHolder.ConfirmAsync(CancellationToken.None);
        Assert.Equal(new[] { false }, await CommitAsync(slow, slowHolder, 7));

        Assert.Equal(new[] { false }, (await ReserveAsync(retry, 7)).Results);
    }

    [Fact]
    public async Task A_refused_retry_holds_nothing_and_says_the_event_is_in_flight_elsewhere()
    {
        var slow = await InstanceAsync(lease: LiveLease);
        await ReserveAsync(slow, 9);
        var retry = await InstanceAsync(inFlightWait: 2 * LiveLease, lease: LiveLease);

        var refused = await Assert.ThrowsAsync<DedupUnavailableException>(() => ReserveAsync(retry, 3, 9));

        Assert.True(refused.InFlightElsewhere);
        Assert.True((await ValueOfAsync(3)).IsNull);    // event 3 was reserved while waiting for 9 and given back
    }

    [Fact]
    public async Task An_owner_whose_lease_lapsed_loses_its_reservation_to_a_retry_and_finds_out_before_and_after_its_write()
    {
        var stalled = await InstanceAsync();
        var (_, stalledHolder) = await ReserveAsync(stalled, 7);
        var token = await ValueOfAsync(7);

        // As if the process had been stopped past its lease (or Redis had lost the key): its liveness key is gone.
        Assert.True(await _raw.GetDatabase().KeyDeleteAsync(Prefix + "owner:" + token));
        var retry = await InstanceAsync();
        var (results, retryHolder) = await ReserveAsync(retry, 7);
        Assert.Equal(new[] { true }, results);

        // Before a write: refused once the owner knows (a stopped process knows at once, its lease's local deadline
        // passed while it was stopped; a key lost under a running one is found by the next refresh).
        await WaitUntilAsync(async () =>
        {
            try
            {
                await stalledHolder.ConfirmAsync(CancellationToken.None);
                return false;
            }
            catch (ReservationLostException)
            {
                return true;
            }
        });

        // A late release does not drop the retry's reservation.
        await stalled.ReleaseAsync("acme", new UInt128[] { 7 }, stalledHolder, CancellationToken.None);
        Assert.NotEqual(token, await ValueOfAsync(7));
        Assert.False((await ValueOfAsync(7)).IsNull);

        // After a write that raced the takeover: the commit says the event was no longer ours.
        Assert.Equal(new[] { false }, await CommitAsync(retry, retryHolder, 7));
        Assert.Equal(new[] { true }, await CommitAsync(stalled, stalledHolder, 7));

        // The stalled instance goes on under a new identity.
        var (again, newHolder) = await ReserveAsync(stalled, 8);
        Assert.Equal(new[] { true }, again);
        Assert.NotSame(stalledHolder, newHolder);
        await newHolder.ConfirmAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_request_waiting_when_its_own_lease_lapses_is_refused_and_gives_back_what_it_held()
    {
        var blocker = await InstanceAsync();
        await ReserveAsync(blocker, 9);
        var stalled = await InstanceAsync();
        var waiting = ReserveAsync(stalled, 3, 9);       // holds 3 while waiting for 9
        await WaitUntilAsync(async () => !(await ValueOfAsync(3)).IsNull);
        var token = await ValueOfAsync(3);

        Assert.True(await _raw.GetDatabase().KeyDeleteAsync(Prefix + "owner:" + token));

        await Assert.ThrowsAsync<ReservationLostException>(() => waiting);
        Assert.True((await ValueOfAsync(3)).IsNull);
    }

    [Fact]
    public async Task A_reservation_made_before_owner_leases_existed_is_never_taken_over()
    {
        // A release before this one reserved with an 'r' token and no liveness key; it may still be storing.
        await _raw.GetDatabase().StringSetAsync(KeyOf(5), "r0123456789abcdef0123456789abcdef", TimeSpan.FromMinutes(1));
        var retry = await InstanceAsync(inFlightWait: 2 * Lease);

        var refused = await Assert.ThrowsAsync<DedupUnavailableException>(() => ReserveAsync(retry, 5));

        Assert.True(refused.InFlightElsewhere);
    }

    [Fact]
    public async Task The_owner_lease_outlives_the_refresh_interval_many_times()
    {
        var live = await InstanceAsync(lease: LiveLease);
        var (_, holder) = await ReserveAsync(live, 1);

        await Task.Delay(2 * LiveLease);

        // Still fresh without a round trip, and Redis still has the liveness key.
        await holder.ConfirmAsync(CancellationToken.None);
        var token = await ValueOfAsync(1);
        Assert.True(await _raw.GetDatabase().KeyExistsAsync(Prefix + "owner:" + token));
    }

    [Fact]
    public async Task A_writer_that_lost_its_owner_lease_does_not_ack_its_requests_and_stores_none_it_had_not_written()
    {
        // Ingest on DuckDB with the Redis store; the test holds storage's inserts, as a slow disk would.
        using var host = new IngestHost(new Dictionary<string, string?>
        {
            ["Dedup:Backend"] = "Redis",
            ["Dedup:Redis:ConnectionString"] = _redis.ConnectionString,
            ["Dedup:Redis:OwnerLease"] = "00:00:01",
            ["Dedup:Redis:OwnerRefreshInterval"] = "00:00:00.200",
            ["Dedup:Redis:OperationTimeout"] = "00:00:00.300",
        });
        var inInsert = GroupApi.ParserFixture.Event(userId: "in-insert", extra: "\"message_id\":\"in-insert\"");
        var queued = GroupApi.ParserFixture.Event(userId: "queued", extra: "\"message_id\":\"queued\"");
        var inInsertKey = GroupApi.ParserFixture.Parse(inInsert).Events[0].Key;
        var queuedKey = GroupApi.ParserFixture.Parse(queued).Events[0].Key;
        host.Store.HoldInserts();
        var first = host.PostAsync(inInsert);
        await WaitUntilAsync(() => Task.FromResult(host.Store.InsertCalls == 1));       // past the lease check, in the insert
        var second = host.PostAsync(queued);
        await WaitUntilAsync(async () => !(await ValueOfAsync(queuedKey)).IsNull);      // reserved, waiting in the queue
        var token = await ValueOfAsync(queuedKey);

        // The instance's lease lapses (as after a pause, or Redis losing the key); a retry elsewhere takes over and stores.
        Assert.True(await _raw.GetDatabase().KeyDeleteAsync(Prefix + "owner:" + token));
        var retry = await InstanceAsync();
        var (taken, retryHolder) = await ReserveAsync(retry, inInsertKey);
        Assert.Equal(new[] { true }, taken);
        await CommitAsync(retry, retryHolder, inInsertKey);
        await Task.Delay(TimeSpan.FromSeconds(1));                                      // the instance's refresh finds out
        host.Store.ReleaseInserts();

        // The insert already under way completes (durable), but its commit finds the reservation taken: 503, not 200.
        using (var answer = await first)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
            Assert.Contains("lost its claim", (await ContractBody.ReadAsync(answer)).Message, StringComparison.Ordinal);
        }

        // The queued request is refused before its insert: nothing of it is stored, and its reservation is given back.
        using (var answer = await second)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
            Assert.Contains("lost its claim", (await ContractBody.ReadAsync(answer)).Message, StringComparison.Ordinal);
        }

        Assert.Equal(1, (await host.Store.CountAsync("acme", default)).Events);
        Assert.True((await ValueOfAsync(queuedKey)).IsNull);

        // The instance goes on under a new identity: the retries are stored, or answered as duplicates.
        using var storedNow = await host.PostAsync(queued);
        Assert.Equal(1, (await ContractBody.ReadAsync(storedNow)).Accepted);
        using var duplicate = await host.PostAsync(inInsert);
        Assert.Equal(1, (await ContractBody.ReadAsync(duplicate)).Duplicates);
        Assert.Equal(2, (await host.Store.CountAsync("acme", default)).Events);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "condition not met within 10 s");
            await Task.Delay(20);
        }
    }
}
