namespace Platform.Ingest.Writing;

/// <summary>What <see cref="FairShare.TryTake"/> decided.</summary>
internal enum ShareVerdict
{
    Taken,

    /// <summary>Congested, and the tenant already holds its fair share or more: refused (429), tenants under theirs are still taken.</summary>
    OverFairShare,

    /// <summary>No room at all (503).</summary>
    Full,
}

/// <summary>The write path is congested and the tenant holds more than its fair share of it; nothing was stored.</summary>
internal sealed class FairShareExceededException() : Exception("the tenant holds more than its fair share of the congested write path");

/// <summary>
/// A bounded resource of the write path shared by every tenant: the write-ahead log's byte budget (ClickHouse) or the
/// write queue's events (embedded DuckDB). Below <c>threshold</c> of the capacity anyone may take what fits, so one
/// tenant alone can use everything; above it, a tenant that already holds its fair share (the capacity divided among
/// the tenants holding some, itself included) is refused while tenants under theirs are still taken, until the
/// capacity itself is reached. What is taken is given back per tenant when it leaves (inserted, shipped, failed).
/// Holdings without a tenant (a log's records recovered at start) count against the capacity and belong to nobody.
/// Guarded by one lock taken once per request; O(1) per call.
/// </summary>
internal sealed class FairShare
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Holding> _holdings = new(StringComparer.Ordinal);
    private readonly long _capacity;
    private readonly long _congested;
    private long _used;

    /// <param name="capacity">What may be held at most, across tenants.</param>
    /// <param name="threshold">The share of <paramref name="capacity"/> above which fairness applies (1 = never).</param>
    public FairShare(long capacity, double threshold)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(threshold);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(threshold, 1);
        _capacity = capacity;
        _congested = (long)(capacity * threshold);
    }

    public long Capacity => _capacity;

    /// <summary>Held in total, tenants' and nobody's.</summary>
    public long Used => Interlocked.Read(ref _used);

    /// <summary>
    /// Takes <paramref name="amount"/> for <paramref name="tenant"/> (null: nobody's) when it fits and the tenant is not
    /// over its fair share of a congested resource; <paramref name="events"/> is kept beside it for the metrics.
    /// </summary>
    public ShareVerdict TryTake(string? tenant, long amount, long events)
    {
        lock (_gate)
        {
            if (_used + amount > _capacity)
            {
                return ShareVerdict.Full;
            }

            Holding? holding = null;
            if (tenant is not null)
            {
                _holdings.TryGetValue(tenant, out holding);
                if (_used + amount > _congested)
                {
                    var holders = _holdings.Count + (holding is null ? 1 : 0);
                    if ((holding?.Amount ?? 0) >= _capacity / holders)
                    {
                        return ShareVerdict.OverFairShare;
                    }
                }

                if (holding is null)
                {
                    _holdings.Add(tenant, holding = new Holding());
                }

                holding.Amount += amount;
                holding.Events += events;
            }

            Interlocked.Add(ref _used, amount);
            return ShareVerdict.Taken;
        }
    }

    /// <summary>
    /// Whether <paramref name="tenant"/> would be refused for fairness whatever it asks for: congested already and the
    /// tenant holding its share. Lets a request be refused before any work is spent on it; <see cref="TryTake"/> decides.
    /// </summary>
    public bool IsOverFairShare(string tenant)
    {
        lock (_gate)
        {
            // Full is answered as full (503) for everyone, as TryTake does.
            if (_used <= _congested || _used >= _capacity || !_holdings.TryGetValue(tenant, out var holding))
            {
                return false;
            }

            return holding.Amount >= _capacity / _holdings.Count;
        }
    }

    /// <summary>Counts <paramref name="amount"/> that belongs to nobody and is already there (a log's records recovered at start), room or not.</summary>
    public void AddUnowned(long amount) => Interlocked.Add(ref _used, amount);

    /// <summary>Gives back what <see cref="TryTake"/> took (or, with a null tenant, what belonged to nobody).</summary>
    public void Release(string? tenant, long amount, long events)
    {
        lock (_gate)
        {
            if (tenant is not null && _holdings.TryGetValue(tenant, out var holding))
            {
                holding.Amount -= amount;
                holding.Events -= events;
                if (holding.Amount <= 0)
                {
                    _holdings.Remove(tenant);
                }
            }

            Interlocked.Add(ref _used, -amount);
        }
    }

    /// <summary>Each tenant's holding now (amount, events); for the per-tenant gauges.</summary>
    public List<(string Tenant, long Amount, long Events)> Holdings()
    {
        lock (_gate)
        {
            var list = new List<(string, long, long)>(_holdings.Count);
            foreach (var (tenant, holding) in _holdings)
            {
                list.Add((tenant, holding.Amount, holding.Events));
            }

            return list;
        }
    }

    private sealed class Holding
    {
        public long Amount { get; set; }

        public long Events { get; set; }
    }
}
