using Microsoft.Extensions.Options;

namespace Platform.Ingest.Dedup;

/// <summary>
/// Dedup for a single process: striped dictionaries of event identities with a time window and a hard
/// entry bound. When the bound is reached the oldest committed identities are forgotten first; storage
/// still collapses any duplicate that slips through, so forgetting costs storage work, never correctness.
/// Keys already include the tenant (see the parser's identity hash), so the tenant argument is not needed here.
/// </summary>
internal sealed class InMemoryDedupStore : IDedupStore
{
    private const int ShardCount = 64;

    private readonly Shard[] _shards = new Shard[ShardCount];
    private readonly TimeProvider _time;
    private readonly long _windowTicks;
    private readonly TimeSpan _inFlightWait;

    public InMemoryDedupStore(IOptions<DedupOptions> options, TimeProvider time)
    {
        var settings = options.Value;
        _time = time;
        _windowTicks = settings.Window.Ticks;
        _inFlightWait = settings.InFlightWait;
        var perShard = Math.Max(1, settings.MaxEntries / ShardCount);
        for (var i = 0; i < ShardCount; i++)
        {
            _shards[i] = new Shard(perShard);
        }
    }

    /// <summary>Identities currently remembered (committed or reserved), for tests and metrics.</summary>
    public int Count
    {
        get
        {
            var total = 0;
            foreach (var shard in _shards)
            {
                lock (shard)
                {
                    total += shard.Entries.Count;
                }
            }

            return total;
        }
    }

    /// <remarks>The reservations live in this process and die with it, so the holder is unconditional.</remarks>
    public async ValueTask<ReservationHolder> ReserveAsync(string tenant, ReadOnlyMemory<UInt128> keys, Memory<bool> results, CancellationToken cancellationToken)
    {
        try
        {
            await ReserveInOrderAsync(keys, results, cancellationToken);
            return ReservationHolder.Unconditional;
        }
        catch (Exception ex) when (ex is DedupUnavailableException or OperationCanceledException)
        {
            // Refused: give back what this call reserved, so the caller holds nothing.
            var reserved = new List<UInt128>();
            for (var i = 0; i < keys.Length; i++)
            {
                if (results.Span[i])
                {
                    reserved.Add(keys.Span[i]);
                }
            }

            results.Span.Clear();
            await ReleaseAsync(tenant, reserved.ToArray(), ReservationHolder.Unconditional, CancellationToken.None);
            throw;
        }
    }

    private async Task ReserveInOrderAsync(ReadOnlyMemory<UInt128> keys, Memory<bool> results, CancellationToken cancellationToken)
    {
        // Reserve in key order. Two requests carrying some of each other's events (a retry racing its original) would
        // otherwise each hold a key the other waits for, and both would wait out InFlightWait and answer 503; in one
        // order, a request only ever waits on keys above every key it holds, so no two requests wait on each other.
        var sorted = keys.ToArray();
        var order = new int[sorted.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        Array.Sort(sorted, order);
        foreach (var i in order)
        {
            var key = keys.Span[i];
            var deadline = _time.GetTimestamp() + (long)(_inFlightWait.TotalSeconds * _time.TimestampFrequency);
            while (true)
            {
                var waitFor = TryReserve(key, out var reserved);
                if (waitFor is null)
                {
                    results.Span[i] = reserved;
                    break;
                }

                var remaining = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
                if (remaining <= TimeSpan.Zero)
                {
                    throw DedupUnavailableException.InFlight();
                }

                try
                {
                    await waitFor.WaitAsync(remaining, _time, cancellationToken);
                }
                catch (TimeoutException)
                {
                    throw DedupUnavailableException.InFlight();
                }
            }
        }
    }

    public ValueTask CommitAsync(string tenant, ReadOnlyMemory<UInt128> keys, ReservationHolder holder, Memory<bool> lost, CancellationToken cancellationToken)
    {
        var expiresAt = _time.GetUtcNow().UtcTicks + _windowTicks;
        foreach (var key in keys.Span)
        {
            var shard = ShardOf(key);
            TaskCompletionSource? waiters;
            lock (shard)
            {
                waiters = shard.Entries.TryGetValue(key, out var entry) ? entry.Waiters : null;
                shard.Entries[key] = new Entry(expiresAt, Committed: true, Waiters: null);
                shard.Order.Enqueue((key, expiresAt));
                shard.EvictOverflow();
            }

            waiters?.TrySetResult();
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask ReleaseAsync(string tenant, ReadOnlyMemory<UInt128> keys, ReservationHolder holder, CancellationToken cancellationToken)
    {
        foreach (var key in keys.Span)
        {
            var shard = ShardOf(key);
            TaskCompletionSource? waiters = null;
            lock (shard)
            {
                if (shard.Entries.TryGetValue(key, out var entry) && !entry.Committed)
                {
                    waiters = entry.Waiters;
                    shard.Entries.Remove(key);
                }
            }

            waiters?.TrySetResult();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Reserves the key or reports it stored; returns a task to wait on when another request holds it.</summary>
    private Task? TryReserve(UInt128 key, out bool reserved)
    {
        var now = _time.GetUtcNow().UtcTicks;
        var shard = ShardOf(key);
        lock (shard)
        {
            shard.EvictExpired(now);
            if (shard.Entries.TryGetValue(key, out var entry))
            {
                if (entry.Committed && entry.ExpiresAt > now)
                {
                    reserved = false;
                    return null;
                }

                if (!entry.Committed)
                {
                    var waiters = entry.Waiters ?? new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    shard.Entries[key] = entry with { Waiters = waiters };
                    reserved = false;
                    return waiters.Task;
                }
            }

            shard.Entries[key] = new Entry(long.MaxValue, Committed: false, Waiters: null);
            reserved = true;
            return null;
        }
    }

    private Shard ShardOf(UInt128 key) => _shards[(int)((ulong)key % ShardCount)];

    private readonly record struct Entry(long ExpiresAt, bool Committed, TaskCompletionSource? Waiters);

    private sealed class Shard(int capacity)
    {
        public Dictionary<UInt128, Entry> Entries { get; } = [];

        /// <summary>Committed keys in commit order; the window is fixed, so this is also expiry order.</summary>
        public Queue<(UInt128 Key, long ExpiresAt)> Order { get; } = new();

        public void EvictExpired(long now)
        {
            while (Order.TryPeek(out var head) && head.ExpiresAt <= now)
            {
                Order.Dequeue();
                RemoveIfCurrent(head.Key, head.ExpiresAt);
            }
        }

        public void EvictOverflow()
        {
            while (Entries.Count > capacity && Order.TryDequeue(out var head))
            {
                RemoveIfCurrent(head.Key, head.ExpiresAt);
            }
        }

        private void RemoveIfCurrent(UInt128 key, long expiresAt)
        {
            // A key may have been committed again later; only the entry this queue item describes goes.
            if (Entries.TryGetValue(key, out var entry) && entry.Committed && entry.ExpiresAt == expiresAt)
            {
                Entries.Remove(key);
            }
        }
    }
}
