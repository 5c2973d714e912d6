using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Platform.Gateway.RateLimiting;

/// <summary>
/// Tenants ingest has just refused for being over their events-per-second limit (a 429 with
/// <c>X-Throttle-Reason: events</c>), each until the Retry-After ingest gave. Until then the gateway answers that
/// tenant's ingestion requests 429 itself, before reading their bodies: a flood that ignores Retry-After would otherwise
/// be read, forwarded and refused by ingest request after request, costing the other tenants that share the gateway's
/// and ingest's cores. Ingest knows each tenant's event count (the gateway does not parse bodies), so it decides; the
/// gateway only remembers the answer, as a client that honours Retry-After would. Each gateway instance learns on its own.
/// </summary>
internal sealed class EventLimitHolds
{
    /// <summary>The longest hold the gateway keeps, whatever Retry-After said (a misconfigured limit must not stall a tenant for hours).</summary>
    internal static readonly TimeSpan LongestHold = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, long> _heldUntil = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private long _refused;

    public EventLimitHolds(TimeProvider time, IMeterFactory meters)
    {
        _time = time;
        meters.Create("Platform.Gateway").CreateObservableCounter("platform.gateway.event_limit_holds", () => Volatile.Read(ref _refused),
            description: "Ingestion requests the gateway refused with 429 itself because ingest had just refused the tenant for its events-per-second limit");
    }

    /// <summary>True (with the time left) while <paramref name="tenant"/> is held; counts the refusal.</summary>
    public bool IsHeld(string tenant, out TimeSpan left)
    {
        left = TimeSpan.Zero;
        if (_heldUntil.IsEmpty || !_heldUntil.TryGetValue(tenant, out var until))
        {
            return false;
        }

        left = _time.GetElapsedTime(_time.GetTimestamp(), until);
        if (left <= TimeSpan.Zero)
        {
            // Expired: forget it, unless a newer refusal has just set another time.
            _heldUntil.TryRemove(new KeyValuePair<string, long>(tenant, until));
            return false;
        }

        Interlocked.Increment(ref _refused);
        return true;
    }

    /// <summary>Holds <paramref name="tenant"/> for <paramref name="retryAfter"/> (capped at <see cref="LongestHold"/>), or longer if already held longer.</summary>
    public void Hold(string tenant, TimeSpan retryAfter)
    {
        if (retryAfter <= TimeSpan.Zero)
        {
            return;
        }

        var hold = retryAfter < LongestHold ? retryAfter : LongestHold;
        var until = _time.GetTimestamp() + (long)(hold.TotalSeconds * _time.TimestampFrequency);
        _heldUntil.AddOrUpdate(tenant, until, (_, current) => Math.Max(current, until));
    }
}
