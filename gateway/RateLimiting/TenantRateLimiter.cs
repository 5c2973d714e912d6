using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Redis;
using RedisRateLimiting;
using StackExchange.Redis;

namespace Platform.Gateway.RateLimiting;

/// <summary>The outcome of one request's turn at its tenant's bucket.</summary>
internal readonly record struct RateLimitDecision(bool Allowed, TimeSpan RetryAfter);

/// <summary>
/// One token bucket per tenant. With Redis, the buckets live in Redis and every gateway instance draws from the
/// same one (RedisRateLimiting's token bucket); without it, or while Redis is unreachable or failing, each instance
/// uses its own in-process buckets (System.Threading.RateLimiting). RedisRateLimiting does not fail open by itself,
/// so the switch to local limits is made here.
/// </summary>
internal sealed partial class TenantRateLimiter : IAsyncDisposable
{
    private readonly RateLimitingOptions _options;
    private readonly RedisConnection _redis;
    private readonly ILogger<TenantRateLimiter> _logger;
    private readonly PartitionedRateLimiter<string> _local;
    private readonly PartitionedRateLimiter<string>? _cluster;
    private long _rejected;
    private long _fallbacks;
    private long _redisRetryAt;

    public TenantRateLimiter(IOptions<RateLimitingOptions> options, RedisConnection redis, IMeterFactory meters, ILogger<TenantRateLimiter> logger)
    {
        _options = options.Value;
        _redis = redis;
        _logger = logger;
        _local = PartitionedRateLimiter.Create<string, string>(tenant => RateLimitPartition.GetTokenBucketLimiter(tenant, LocalBucket));
        if (redis.IsConfigured)
        {
            var prefix = redis.KeyPrefix + "rate:";
            _cluster = PartitionedRateLimiter.Create<string, string>(tenant =>
                RedisRateLimitPartition.GetTokenBucketRateLimiter(prefix + tenant, _ => ClusterBucket(tenant)));
        }

        // Observed rather than added to, so both series exist from the first scrape at zero (the dashboard and alerts see
        // 0, not "no data"): this limiter is built with the request pipeline, before the metrics listener starts, and an
        // Add(0) made then would be lost.
        var meter = meters.Create("Platform.Gateway");
        meter.CreateObservableCounter("platform.gateway.rate_limited", () => Volatile.Read(ref _rejected), description: "Requests refused with 429");
        meter.CreateObservableCounter("platform.gateway.rate_limit_local_fallbacks", () => Volatile.Read(ref _fallbacks),
            description: "Redis rate limit calls that failed and were decided locally");
    }

    public async ValueTask<RateLimitDecision> AcquireAsync(string tenant, CancellationToken cancellationToken)
    {
        var decision = await DecideAsync(tenant, cancellationToken);
        if (!decision.Allowed)
        {
            Interlocked.Increment(ref _rejected);
        }

        return decision;
    }

    private async ValueTask<RateLimitDecision> DecideAsync(string tenant, CancellationToken cancellationToken)
    {
        if (_cluster is not null && _redis.Database is not null && Stopwatch.GetTimestamp() >= Volatile.Read(ref _redisRetryAt))
        {
            try
            {
                using var lease = await _cluster.AcquireAsync(tenant, 1, cancellationToken);

                // RedisRateLimiting reports whole seconds under its own metadata name, not MetadataName.RetryAfter.
                var retryAfter = lease.TryGetMetadata(RateLimitMetadataName.RetryAfter, out var seconds)
                    ? TimeSpan.FromSeconds(seconds)
                    : TimeSpan.Zero;
                return Decision(lease.IsAcquired, retryAfter, tenant);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException or InvalidOperationException)
            {
                Volatile.Write(ref _redisRetryAt, Stopwatch.GetTimestamp() + (long)(_options.RedisRetryInterval.TotalSeconds * Stopwatch.Frequency));
                Interlocked.Increment(ref _fallbacks);
                LogRedisFailed(_logger, ex, _options.RedisRetryInterval);
            }
        }

        using var local = _local.AttemptAcquire(tenant);
        return Decision(local.IsAcquired, local.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.Zero, tenant);
    }

    private RateLimitDecision Decision(bool allowed, TimeSpan retryAfter, string tenant)
    {
        if (allowed)
        {
            return new RateLimitDecision(true, TimeSpan.Zero);
        }

        // A refusal always says when to come back: at least a second, at most one replenishment period.
        var period = Bucket(tenant).ReplenishmentPeriod;
        if (retryAfter <= TimeSpan.Zero || retryAfter > period)
        {
            retryAfter = period;
        }

        return new RateLimitDecision(false, retryAfter < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : retryAfter);
    }

    private TokenBucket Bucket(string tenant)
    {
        var limit = _options.LimitFor(tenant);
        return TokenBucket.From(limit.RequestsPerSecond!.Value, limit.Burst!.Value);
    }

    private TokenBucketRateLimiterOptions LocalBucket(string tenant)
    {
        var bucket = Bucket(tenant);
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = bucket.TokenLimit,
            TokensPerPeriod = bucket.TokensPerPeriod,
            ReplenishmentPeriod = bucket.ReplenishmentPeriod,
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    private RedisTokenBucketRateLimiterOptions ClusterBucket(string tenant)
    {
        var bucket = Bucket(tenant);
        return new RedisTokenBucketRateLimiterOptions
        {
            ConnectionMultiplexerFactory = () => _redis.Multiplexer,
            TokenLimit = bucket.TokenLimit,
            TokensPerPeriod = bucket.TokensPerPeriod,
            ReplenishmentPeriod = bucket.ReplenishmentPeriod,
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _local.DisposeAsync();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis rate limit call failed; deciding locally for {RetryInterval}")]
    private static partial void LogRedisFailed(ILogger logger, Exception exception, TimeSpan retryInterval);
}
