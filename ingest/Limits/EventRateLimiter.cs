using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Redis;
using StackExchange.Redis;

namespace Platform.Ingest.Limits;

/// <summary>A parsed request's turn at its tenant's events-per-second bucket.</summary>
internal readonly record struct EventDecision(bool Allowed, TimeSpan RetryAfter);

/// <summary>
/// Per-tenant events-per-second limits (section "EventLimits"), in two steps. At the door, before the body is read:
/// <see cref="TryEnter"/> refuses a tenant whose bucket is empty, from memory alone, so a flood over its limit costs
/// neither parsing nor a Redis round trip. Once parsed, <see cref="EventAdmission.ChargeAsync"/> counts the request's
/// events: in Redis (one script call, the bucket every instance shares) when the shared Redis is configured and
/// answering, else in this instance's bucket, the same arithmetic either way. A Redis failure falls back to local
/// buckets for <see cref="EventLimitOptions.RedisRetryInterval"/>, never to an error; during an outage a tenant may get
/// up to its limit from each instance.
/// </summary>
internal sealed partial class EventRateLimiter : IDisposable
{
    /// <summary>
    /// The bucket in Redis: a hash of tokens and the time of their count (µs, Redis's own clock, so instances' clocks
    /// never matter). Refill, decision and charge in one atomic step; the key expires once the bucket would be full again.
    /// ARGV: rate (events/s), burst, events, force (1 = charge whatever the bucket holds). Returns {admitted, tokens}.
    /// </summary>
    private const string ChargeScript = """
        local rate = tonumber(ARGV[1])
        local burst = tonumber(ARGV[2])
        local events = tonumber(ARGV[3])
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
        local state = redis.call('HMGET', KEYS[1], 't', 'u')
        local tokens = tonumber(state[1])
        local updated = tonumber(state[2])
        if tokens == nil or updated == nil then
          tokens = burst
          updated = now
        end
        if now > updated then
          tokens = math.min(burst, tokens + (now - updated) * rate / 1000000)
        end
        local admitted = 0
        if ARGV[4] == '1' or tokens >= 1 then
          tokens = tokens - events
          admitted = 1
        end
        redis.call('HSET', KEYS[1], 't', string.format('%.6f', tokens), 'u', string.format('%d', now))
        redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
        return {admitted, string.format('%.6f', tokens)}
        """;

    private static readonly EventAdmission Unlimited = new(null, string.Empty, null, 0);

    private readonly IOptionsMonitor<EventLimitOptions> _options;
    private readonly RedisConnection _redis;
    private readonly TimeProvider _time;
    private readonly ILogger<EventRateLimiter> _logger;
    private readonly ConcurrentDictionary<string, TenantBucket> _buckets = new(StringComparer.Ordinal);
    private readonly IDisposable? _subscription;
    private long _redisRetryAt;

    public EventRateLimiter(IOptionsMonitor<EventLimitOptions> options, RedisConnection redis, TimeProvider time, ILogger<EventRateLimiter> logger)
    {
        _options = options;
        _redis = redis;
        _time = time;
        _logger = logger;
        // Changed limits take effect on each tenant's next request: buckets are rebuilt (full) with the new numbers.
        _subscription = options.OnChange(_ => _buckets.Clear());
    }

    public bool Enabled => _options.CurrentValue.Enabled;

    /// <summary>
    /// At the door: false (with the wait) when the tenant's bucket is known to be empty; else the admission the parsed
    /// request is charged through. Dispose it in every case.
    /// </summary>
    public bool TryEnter(string tenant, out EventAdmission admission, out TimeSpan retryAfter)
    {
        if (!_options.CurrentValue.Enabled)
        {
            admission = Unlimited;
            retryAfter = TimeSpan.Zero;
            return true;
        }

        var bucket = BucketOf(tenant);
        if (!bucket.TryEnter(_time.GetTimestamp(), _time.TimestampFrequency, out var provisional, out retryAfter))
        {
            admission = Unlimited;
            return false;
        }

        admission = new EventAdmission(this, tenant, bucket, provisional);
        return true;
    }

    internal async ValueTask<EventDecision> ChargeAsync(string tenant, TenantBucket bucket, double provisional, int events, bool force)
    {
        if (_redis.IsConfigured && _redis.Database is { } database && _time.GetTimestamp() >= Volatile.Read(ref _redisRetryAt))
        {
            try
            {
                var answer = (RedisResult[])(await database.ScriptEvaluateAsync(
                    ChargeScript,
                    [_redis.KeyPrefix + "events:" + tenant],
                    [bucket.EventsPerSecond, bucket.Burst, events, force ? 1 : 0]))!;
                var admitted = (long)answer[0] == 1;
                var tokens = double.Parse((string)answer[1]!, NumberStyles.Float, CultureInfo.InvariantCulture);
                bucket.Mirror(_time.GetTimestamp(), provisional, events, tokens);
                return admitted ? new EventDecision(true, TimeSpan.Zero) : new EventDecision(false, bucket.Wait(1 - tokens));
            }
            catch (Exception ex) when (RedisConnectionFactory.IsFailure(ex) || ex is InvalidCastException or FormatException)
            {
                var interval = _options.CurrentValue.RedisRetryInterval;
                Volatile.Write(ref _redisRetryAt, _time.GetTimestamp() + (long)(interval.TotalSeconds * _time.TimestampFrequency));
                LogRedisFailed(_logger, ex, interval);
            }
        }

        var allowed = bucket.Settle(_time.GetTimestamp(), _time.TimestampFrequency, provisional, events, force, out var retryAfter);
        return new EventDecision(allowed, retryAfter);
    }

    public void Dispose() => _subscription?.Dispose();

    private TenantBucket BucketOf(string tenant)
    {
        if (_buckets.TryGetValue(tenant, out var bucket))
        {
            return bucket;
        }

        var (rate, burst) = _options.CurrentValue.LimitFor(tenant);
        return _buckets.GetOrAdd(tenant, static (_, state) => new TenantBucket(state.rate, state.burst, state.now), (rate, burst, now: _time.GetTimestamp()));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis event limit call failed; deciding locally for {RetryInterval}")]
    private static partial void LogRedisFailed(ILogger logger, Exception exception, TimeSpan retryInterval);
}

/// <summary>
/// A request let in at the door, to be charged its events once parsed (<see cref="ChargeAsync"/>, at most once).
/// Disposing an admission never charged gives back what it held.
/// </summary>
internal sealed class EventAdmission(EventRateLimiter? limiter, string tenant, TenantBucket? bucket, double provisional) : IDisposable
{
    private int _settled;

    /// <summary>
    /// Charges <paramref name="events"/>: refused when the tenant's bucket is empty, unless <paramref name="force"/>
    /// (the request was parsed and is refused for another reason; its cost still counts against the tenant).
    /// </summary>
    public ValueTask<EventDecision> ChargeAsync(int events, bool force = false)
    {
        if (limiter is null || Interlocked.Exchange(ref _settled, 1) != 0)
        {
            return new ValueTask<EventDecision>(new EventDecision(true, TimeSpan.Zero));
        }

        return limiter.ChargeAsync(tenant, bucket!, provisional, events, force);
    }

    public void Dispose()
    {
        if (limiter is not null && Interlocked.Exchange(ref _settled, 1) == 0)
        {
            bucket!.Abandon(provisional);
        }
    }
}
