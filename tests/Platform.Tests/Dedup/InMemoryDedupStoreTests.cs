using Microsoft.Extensions.Options;
using Platform.Ingest.Dedup;

namespace Platform.Tests.Dedup;

public sealed class InMemoryDedupStoreTests
{
    private static InMemoryDedupStore Create(TimeProvider? time = null, Action<DedupOptions>? adjust = null)
    {
        var options = new DedupOptions();
        adjust?.Invoke(options);
        return new InMemoryDedupStore(Options.Create(options), time ?? TimeProvider.System);
    }

    private static async Task<bool[]> ReserveAsync(InMemoryDedupStore store, params UInt128[] keys)
    {
        var results = new bool[keys.Length];
        await store.ReserveAsync("acme", keys, results, CancellationToken.None);
        return results;
    }

    [Fact]
    public async Task A_new_key_is_reserved()
    {
        Assert.Equal(new[] { true, true }, await ReserveAsync(Create(), 1, 2));
    }

    [Fact]
    public async Task A_committed_key_is_a_duplicate()
    {
        var store = Create();
        await ReserveAsync(store, 1);
        await store.CommitAsync("acme", new UInt128[] { 1 }, ReservationHolder.Unconditional, Memory<bool>.Empty, CancellationToken.None);

        Assert.Equal(new[] { false, true }, await ReserveAsync(store, 1, 2));
    }

    [Fact]
    public async Task A_released_key_can_be_reserved_again()
    {
        var store = Create();
        await ReserveAsync(store, 1);
        await store.ReleaseAsync("acme", new UInt128[] { 1 }, ReservationHolder.Unconditional, CancellationToken.None);

        Assert.Equal(new[] { true }, await ReserveAsync(store, 1));
    }

    [Fact]
    public async Task A_key_is_forgotten_after_the_window()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch.AddYears(56));
        var store = Create(clock, o => o.Window = TimeSpan.FromHours(1));
        await ReserveAsync(store, 1);
        await store.CommitAsync("acme", new UInt128[] { 1 }, ReservationHolder.Unconditional, Memory<bool>.Empty, CancellationToken.None);

        clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(new[] { false }, await ReserveAsync(store, 1));

        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(new[] { true }, await ReserveAsync(store, 1));
    }

    [Fact]
    public async Task The_store_never_holds_more_than_its_bound_and_keeps_the_newest()
    {
        var store = Create(adjust: o => o.MaxEntries = 1_000);
        for (UInt128 key = 0; key < 20_000; key++)
        {
            await ReserveAsync(store, key);
            await store.CommitAsync("acme", new[] { key }, ReservationHolder.Unconditional, Memory<bool>.Empty, CancellationToken.None);
        }

        Assert.InRange(store.Count, 1, 1_000);
        Assert.Equal(new[] { false }, await ReserveAsync(store, 19_999));
    }

    [Fact]
    public async Task A_request_waiting_on_an_in_flight_key_holds_no_key_above_it_so_requests_never_wait_on_each_other()
    {
        var store = Create(adjust: o => o.InFlightWait = TimeSpan.FromSeconds(30));
        await ReserveAsync(store, 1);           // request A holds event 1
        var b = ReserveAsync(store, 2, 1);      // request B carries events 2 and 1, and waits for 1

        // A's other event, 2, must be A's at once: had B taken 2 before waiting for 1, A and B would wait on each other.
        Assert.Equal(new[] { true }, await ReserveAsync(store, 2).WaitAsync(TimeSpan.FromSeconds(5)));

        await store.CommitAsync("acme", new UInt128[] { 1, 2 }, ReservationHolder.Unconditional, Memory<bool>.Empty, CancellationToken.None);
        Assert.Equal(new[] { false, false }, await b.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_request_waiting_on_an_in_flight_key_sees_it_as_duplicate_once_committed()
    {
        var store = Create();
        await ReserveAsync(store, 7);

        var waiting = ReserveAsync(store, 7);
        Assert.False(waiting.IsCompleted);
        await store.CommitAsync("acme", new UInt128[] { 7 }, ReservationHolder.Unconditional, Memory<bool>.Empty, CancellationToken.None);

        Assert.Equal(new[] { false }, await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_request_waiting_on_an_in_flight_key_takes_it_over_when_released()
    {
        var store = Create();
        await ReserveAsync(store, 7);

        var waiting = ReserveAsync(store, 7);
        await store.ReleaseAsync("acme", new UInt128[] { 7 }, ReservationHolder.Unconditional, CancellationToken.None);

        Assert.Equal(new[] { true }, await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Waiting_too_long_on_an_in_flight_key_reports_the_store_unavailable()
    {
        var store = Create(adjust: o => o.InFlightWait = TimeSpan.FromMilliseconds(50));
        await ReserveAsync(store, 7);

        await Assert.ThrowsAsync<DedupUnavailableException>(() => ReserveAsync(store, 7));
    }

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
