using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Platform.Ingest.Dedup;
using Platform.Tests.Servers;

namespace Platform.Tests.Dedup;

/// <summary>The Redis dedup store against a real redis-server (a database of the shared one; a server of their own for the tests that stop it).</summary>
public sealed class RedisDedupStoreTests(RedisFixture redis) : IClassFixture<RedisFixture>, IAsyncLifetime
{
    private RedisDatabase _redis = null!;
    private RedisServer? _own;
    private readonly List<RedisDedupStore> _stores = [];

    public async Task InitializeAsync() => _redis = await redis.NewDatabaseAsync();

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        _own?.Dispose();
    }

    /// <summary>A redis-server of this test's own, for a test that stops it; the stores created after this use it.</summary>
    private async Task<RedisServer> OwnServerAsync()
    {
        _own = await RedisServer.StartAsync();
        _redis = new RedisDatabase(_own.ConnectionString, 0);
        return _own;
    }

    private async Task<RedisDedupStore> CreateAsync(Action<DedupOptions>? adjust = null)
    {
        var options = new DedupOptions { Backend = DedupBackend.Redis, InFlightWait = TimeSpan.FromSeconds(5) };
        options.Redis.ConnectionString = _redis.ConnectionString;
        adjust?.Invoke(options);
        var store = new RedisDedupStore(Options.Create(options), TimeProvider.System, NullLogger<RedisDedupStore>.Instance);
        _stores.Add(store);
        await store.ConnectAsync(CancellationToken.None);
        return store;
    }

    /// <summary>Who holds each store's reservations, as its last reserve call answered (commit and release name it).</summary>
    private readonly Dictionary<RedisDedupStore, ReservationHolder> _holders = [];

    private async Task<bool[]> ReserveAsync(RedisDedupStore store, params UInt128[] keys)
    {
        var results = new bool[keys.Length];
        _holders[store] = await store.ReserveAsync("acme", keys, results, CancellationToken.None);
        return results;
    }

    private ReservationHolder HolderOf(RedisDedupStore store) => _holders.GetValueOrDefault(store, ReservationHolder.Unconditional);

    private ValueTask CommitAsync(RedisDedupStore store, params UInt128[] keys) =>
        store.CommitAsync("acme", keys, HolderOf(store), Memory<bool>.Empty, CancellationToken.None);

    private ValueTask ReleaseAsync(RedisDedupStore store, params UInt128[] keys) =>
        store.ReleaseAsync("acme", keys, HolderOf(store), CancellationToken.None);

    [Fact]
    public async Task A_new_key_is_reserved()
    {
        Assert.Equal(new[] { true, true }, await ReserveAsync(await CreateAsync(), 1, 2));
    }

    [Fact]
    public async Task A_committed_key_is_a_duplicate()
    {
        var store = await CreateAsync();
        await ReserveAsync(store, 1);
        await CommitAsync(store, 1);

        Assert.Equal(new[] { false, true }, await ReserveAsync(store, 1, 2));
    }

    [Fact]
    public async Task More_keys_than_one_script_call_carries_are_reserved_committed_and_released_in_order()
    {
        var store = await CreateAsync();
        var count = (2 * RedisDedupStore.KeysPerScript) + 7;
        var keys = new UInt128[count];
        for (var i = 0; i < count; i++)
        {
            keys[i] = (UInt128)(i + 1);
        }

        Assert.All(await ReserveAsync(store, keys), Assert.True);
        await CommitAsync(store, keys[..(count / 2)]);
        await ReleaseAsync(store, keys[(count / 2)..]);

        // The committed first half are duplicates; the released second half, and one key never seen, are new.
        var again = await ReserveAsync(store, [.. keys, (UInt128)(count + 1)]);
        Assert.Equal(count / 2, again.Count(reserved => !reserved));
        Assert.All(again[..(count / 2)], Assert.False);
        Assert.All(again[(count / 2)..], Assert.True);
    }

    [Fact]
    public async Task A_released_key_can_be_reserved_again()
    {
        var store = await CreateAsync();
        await ReserveAsync(store, 1);
        await ReleaseAsync(store, 1);

        Assert.Equal(new[] { true }, await ReserveAsync(store, 1));
    }

    [Fact]
    public async Task A_committed_key_is_forgotten_after_the_window()
    {
        var store = await CreateAsync(o => (o.Window, o.Redis.ReservationTtl) = (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)));
        await ReserveAsync(store, 1);
        await CommitAsync(store, 1);
        Assert.Equal(new[] { false }, await ReserveAsync(store, 1));

        await Task.Delay(TimeSpan.FromMilliseconds(1300));

        Assert.Equal(new[] { true }, await ReserveAsync(store, 1));
    }

    [Fact]
    public async Task A_reservation_never_committed_expires_so_a_crash_does_not_block_the_retry()
    {
        var crashed = await CreateAsync(o => o.Redis.ReservationTtl = TimeSpan.FromSeconds(1));
        var other = await CreateAsync(o => o.InFlightWait = TimeSpan.FromSeconds(5));
        await ReserveAsync(crashed, 7);

        Assert.Equal(new[] { true }, await ReserveAsync(other, 7));
    }

    [Fact]
    public async Task A_second_instance_sees_the_first_instances_commit_as_a_duplicate()
    {
        var first = await CreateAsync();
        var second = await CreateAsync();
        await ReserveAsync(first, 1, 2);
        await CommitAsync(first, 1, 2);

        Assert.Equal(new[] { false, false, true }, await ReserveAsync(second, 1, 2, 3));
    }

    [Fact]
    public async Task A_key_in_flight_elsewhere_waits_for_its_commit_and_is_then_a_duplicate()
    {
        var first = await CreateAsync();
        var second = await CreateAsync();
        await ReserveAsync(first, 5);

        var waiting = ReserveAsync(second, 5);
        await Task.Delay(200);
        Assert.False(waiting.IsCompleted);
        await CommitAsync(first, 5);

        Assert.Equal(new[] { false }, await waiting);
    }

    [Fact]
    public async Task A_request_waiting_on_a_key_holds_no_key_above_it_so_requests_never_wait_on_each_other()
    {
        var first = await CreateAsync(o => o.InFlightWait = TimeSpan.FromSeconds(30));
        var second = await CreateAsync(o => o.InFlightWait = TimeSpan.FromSeconds(30));
        await ReserveAsync(first, 1);                       // request A holds event 1
        var waiting = ReserveAsync(second, 2, 1);           // request B carries events 2 and 1, and waits for 1
        await Task.Delay(300);

        // A's other event, 2, must be A's at once: had B kept 2 while waiting for 1, A and B would wait on each other.
        Assert.Equal(new[] { true }, await ReserveAsync(first, 2).WaitAsync(TimeSpan.FromSeconds(5)));

        await CommitAsync(first, 1, 2);
        Assert.Equal(new[] { false, false }, await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_key_in_flight_elsewhere_is_reserved_after_its_release()
    {
        var first = await CreateAsync();
        var second = await CreateAsync();
        await ReserveAsync(first, 5);

        var waiting = ReserveAsync(second, 5);
        await Task.Delay(100);
        await ReleaseAsync(first, 5);

        Assert.Equal(new[] { true }, await waiting);
    }

    [Fact]
    public async Task A_key_in_flight_elsewhere_for_longer_than_the_wait_is_unavailable()
    {
        var first = await CreateAsync();
        var second = await CreateAsync(o => o.InFlightWait = TimeSpan.FromMilliseconds(300));
        await ReserveAsync(first, 5);

        await Assert.ThrowsAsync<DedupUnavailableException>(() => ReserveAsync(second, 5));
    }

    [Fact]
    public async Task A_release_never_drops_another_instances_reservation()
    {
        var first = await CreateAsync();
        var second = await CreateAsync(o => o.InFlightWait = TimeSpan.FromMilliseconds(200));
        await ReserveAsync(first, 9);

        await ReleaseAsync(second, 9);

        await Assert.ThrowsAsync<DedupUnavailableException>(() => ReserveAsync(second, 9));
    }

    [Fact]
    public async Task A_release_never_drops_a_commit()
    {
        var store = await CreateAsync();
        await ReserveAsync(store, 3);
        await CommitAsync(store, 3);

        await ReleaseAsync(store, 3);

        Assert.Equal(new[] { false }, await ReserveAsync(store, 3));
    }

    [Fact]
    public async Task Keys_are_the_prefix_and_sixteen_raw_bytes()
    {
        var store = await CreateAsync(o => o.Redis.KeyPrefix = "d:");
        await ReserveAsync(store, UInt128.MaxValue);
        await CommitAsync(store, UInt128.MaxValue);

        // Besides the identity, only this process's liveness key: d:owner:{token}.
        var keys = await _redis.KeysAsync();
        var owner = Assert.Single(keys, k => k.AsSpan().StartsWith("d:owner:o"u8));
        Assert.Equal("d:owner:".Length + 33, owner.Length);
        var key = Assert.Single(keys, k => !k.AsSpan().StartsWith("d:owner:"u8));
        Assert.Equal(2 + 16, key.Length);
        Assert.Equal("d:"u8.ToArray(), key[..2]);
    }

    [Fact]
    public async Task With_redis_down_the_storage_backstop_treats_every_key_as_new()
    {
        var server = await OwnServerAsync();
        var store = await CreateAsync();
        await ReserveAsync(store, 1);
        await CommitAsync(store, 1);
        server.Stop();

        Assert.Equal(new[] { true, true }, await ReserveAsync(store, 1, 2));
        Assert.False(await store.PingAsync(CancellationToken.None));
        await ReleaseAsync(store, 1, 2);
    }

    [Fact]
    public async Task With_redis_down_and_reject_configured_a_reservation_is_unavailable()
    {
        var server = await OwnServerAsync();
        var store = await CreateAsync(o => o.Redis.OnUnavailable = RedisUnavailableMode.Reject);
        server.Stop();

        await Assert.ThrowsAsync<DedupUnavailableException>(() => ReserveAsync(store, 1));
    }
}
