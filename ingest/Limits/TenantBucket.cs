namespace Platform.Ingest.Limits;

/// <summary>
/// One tenant's events-per-second bucket as this instance sees it: tokens refilled continuously at the tenant's rate up
/// to its burst, and the events of requests admitted at the door but not yet counted (their size is only known once
/// parsed). A request is admitted while the bucket holds at least one token and is then charged its whole event count,
/// so the bucket may go below zero: the debt is paid by refusing the tenant until the refill has brought it back to one
/// token, which is also what <c>Retry-After</c> says. Over any period the tenant gets at most its rate plus its burst
/// plus one request; what it cannot get is a second request in while in debt. Without Redis this is the bucket; with
/// Redis it mirrors the last state Redis reported (refilled locally since), which can only be fuller than Redis's own,
/// so a refusal at the door is one Redis would make too. Guarded by its own lock; every method is O(1).
/// </summary>
internal sealed class TenantBucket(double eventsPerSecond, double burst, long now)
{
    private readonly double _rate = eventsPerSecond;
    private readonly double _burst = burst;
    private readonly Lock _gate = new();
    private double _tokens = burst;
    private long _updated = now;
    private double _pending;

    // What a request of this tenant usually holds, charged provisionally at the door; starts at one event.
    private double _typicalEvents = 1;

    public double EventsPerSecond => _rate;

    public double Burst => _burst;

    /// <summary>
    /// At the door, before the body is read: admits unless the bucket, less the requests admitted and still being
    /// parsed, is below one token. Then the request counts as a typical one of the tenant's until <see cref="Settle"/>
    /// or <see cref="Mirror"/> replaces that with its real size, so a burst of concurrent requests from a tenant in
    /// debt (or about to be) is refused here instead of each being parsed first.
    /// </summary>
    public bool TryEnter(long now, long frequency, out double provisional, out TimeSpan retryAfter)
    {
        lock (_gate)
        {
            Refill(now, frequency);
            var available = _tokens - _pending;
            if (available < 1)
            {
                provisional = 0;
                retryAfter = Wait(1 - available);
                return false;
            }

            provisional = _typicalEvents;
            _pending += provisional;
            retryAfter = TimeSpan.Zero;
            return true;
        }
    }

    /// <summary>
    /// Counts a parsed request of <paramref name="events"/> events in this bucket (no Redis): admitted when the bucket
    /// holds a token (or <paramref name="force"/>: the events were parsed and refused for another reason, and their
    /// cost still counts), refused otherwise with the wait until it holds one again.
    /// </summary>
    public bool Settle(long now, long frequency, double provisional, int events, bool force, out TimeSpan retryAfter)
    {
        lock (_gate)
        {
            Refill(now, frequency);
            Forget(provisional, events);
            if (force || _tokens >= 1)
            {
                _tokens -= events;
                retryAfter = TimeSpan.Zero;
                return true;
            }

            retryAfter = Wait(1 - _tokens);
            return false;
        }
    }

    /// <summary>The request was decided by Redis, which answered with its bucket's tokens after the decision.</summary>
    public void Mirror(long now, double provisional, int events, double tokens)
    {
        lock (_gate)
        {
            Forget(provisional, events);
            _tokens = Math.Min(tokens, _burst);
            _updated = now;
        }
    }

    /// <summary>A request admitted at the door that never got to be counted (its body could not be read): nothing is charged.</summary>
    public void Abandon(double provisional)
    {
        lock (_gate)
        {
            _pending = Math.Max(0, _pending - provisional);
        }
    }

    /// <summary>How long until the bucket holds <paramref name="missing"/> more tokens.</summary>
    public TimeSpan Wait(double missing) => TimeSpan.FromSeconds(Math.Max(0, missing) / _rate);

    private void Forget(double provisional, int events)
    {
        _pending = Math.Max(0, _pending - provisional);
        _typicalEvents += (Math.Max(1, events) - _typicalEvents) * 0.25;
    }

    private void Refill(long now, long frequency)
    {
        if (now > _updated)
        {
            _tokens = Math.Min(_burst, _tokens + ((now - _updated) * _rate / frequency));
            _updated = now;
        }
    }
}
