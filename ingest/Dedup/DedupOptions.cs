using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Platform.Ingest.Dedup;

/// <summary>Section "Dedup": how retried events are recognised before they reach storage.</summary>
internal sealed class DedupOptions
{
    public const string Section = "Dedup";

    /// <summary>"InMemory" (one process; the embedded default) or "Redis" (shared by every ingest instance).</summary>
    [RegularExpression("^(InMemory|Redis)$", ErrorMessage = "Dedup:Backend must be InMemory or Redis.")]
    public string Backend { get; set; } = DedupBackends.InMemory;

    /// <summary>How long a stored event's identity is remembered. Retries later than this reach storage, which still collapses them.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long a request waits for another in-flight request holding the same event before answering 503.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan InFlightWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The in-memory store's bound: at most this many remembered identities (about 80 bytes each); the oldest go first.</summary>
    [Range(1_000, 100_000_000)]
    public int MaxEntries { get; set; } = 1_000_000;

    /// <summary>Section "Dedup:Redis": used when <see cref="Backend"/> is Redis.</summary>
    public RedisDedupOptions Redis { get; set; } = new();
}

internal static class DedupBackends
{
    public const string InMemory = "InMemory";
    public const string Redis = "Redis";
}

/// <summary>What the Redis dedup store does while Redis cannot answer.</summary>
internal enum RedisUnavailableMode
{
    /// <summary>Keep ingesting without the fast path: every event is treated as new and storage collapses duplicates.</summary>
    StorageBackstop,

    /// <summary>Refuse requests with 503 until Redis answers again.</summary>
    Reject,
}

/// <summary>Section "Dedup:Redis".</summary>
internal sealed class RedisDedupOptions
{
    /// <summary>A StackExchange.Redis configuration string (host:port[,password=...]). Required with the Redis backend.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Prefix of every dedup key; the rest of the key is the event identity's 16 raw bytes.</summary>
    public string KeyPrefix { get; set; } = "platform:dedup:";

    /// <summary>
    /// The longest a reservation lives when its holder never commits or releases it and no other request takes it over.
    /// Longer than <c>Writer:InsertTimeout</c> plus the queue wait, so a live request never loses its reservation.
    /// A crashed process's reservations are normally taken over much sooner, after <see cref="OwnerLease"/>.
    /// </summary>
    public TimeSpan ReservationTtl { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long this process's liveness key lives in Redis without a refresh. Once it has lapsed (the process died, or
    /// stalled this long), another request may take over the process's reservations; the longest a client's retry
    /// waits for the reservations of a crashed process.
    /// </summary>
    public TimeSpan OwnerLease { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the liveness key is refreshed, by a thread of its own; at most a third of <see cref="OwnerLease"/>.</summary>
    public TimeSpan OwnerRefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a request re-checks an identity that another request is still storing.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long to wait for a connection, at start and on each reconnect attempt.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one round trip may take before it counts as Redis being unavailable.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>StorageBackstop (default: keep ingesting, readiness Degraded) or Reject (answer 503 while Redis is down).</summary>
    public RedisUnavailableMode OnUnavailable { get; set; } = RedisUnavailableMode.StorageBackstop;
}

/// <summary>Checks what data annotations cannot: the nested Redis section, only when it is in use.</summary>
internal sealed class DedupOptionsValidator : IValidateOptions<DedupOptions>
{
    public ValidateOptionsResult Validate(string? name, DedupOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.Equals(options.Backend, DedupBackends.Redis, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Success;
        }

        var problems = new List<string>();
        var redis = options.Redis;
        if (string.IsNullOrWhiteSpace(redis.ConnectionString))
        {
            problems.Add("Dedup:Redis:ConnectionString is required when Dedup:Backend is Redis.");
        }
        else
        {
            try
            {
                _ = StackExchange.Redis.ConfigurationOptions.Parse(redis.ConnectionString);
            }
            catch (ArgumentException ex)
            {
                problems.Add($"Dedup:Redis:ConnectionString cannot be parsed: {ex.Message}");
            }
        }

        if (string.IsNullOrEmpty(redis.KeyPrefix))
        {
            problems.Add("Dedup:Redis:KeyPrefix must not be empty: it keeps dedup keys apart from others in the same Redis.");
        }

        if (redis.ReservationTtl < TimeSpan.FromSeconds(1) || redis.ReservationTtl > TimeSpan.FromHours(1))
        {
            problems.Add($"Dedup:Redis:ReservationTtl must be between 00:00:01 and 01:00:00 (got {redis.ReservationTtl:c}).");
        }

        if (redis.ReservationTtl > options.Window)
        {
            problems.Add($"Dedup:Redis:ReservationTtl ({redis.ReservationTtl:c}) must not exceed Dedup:Window ({options.Window:c}).");
        }

        if (redis.OwnerLease < TimeSpan.FromMilliseconds(500) || redis.OwnerLease > TimeSpan.FromMinutes(5))
        {
            problems.Add($"Dedup:Redis:OwnerLease must be between 00:00:00.500 and 00:05:00 (got {redis.OwnerLease:c}).");
        }
        else if (redis.OwnerLease >= redis.ReservationTtl)
        {
            problems.Add($"Dedup:Redis:OwnerLease ({redis.OwnerLease:c}) must be shorter than Dedup:Redis:ReservationTtl ({redis.ReservationTtl:c}): otherwise a crashed process's reservations expire before its lease does, and the lease recovers nothing.");
        }

        if (redis.OwnerRefreshInterval < TimeSpan.FromMilliseconds(50) || redis.OwnerRefreshInterval > redis.OwnerLease / 3)
        {
            problems.Add($"Dedup:Redis:OwnerRefreshInterval must be between 00:00:00.050 and a third of Dedup:Redis:OwnerLease ({redis.OwnerLease / 3:c}) (got {redis.OwnerRefreshInterval:c}): a live process must survive a refresh that is late or lost.");
        }

        if (redis.OperationTimeout > redis.OwnerLease / 3)
        {
            problems.Add($"Dedup:Redis:OperationTimeout ({redis.OperationTimeout:c}) must be at most a third of Dedup:Redis:OwnerLease ({redis.OwnerLease:c}): one slow refresh must not use up the lease.");
        }

        if (redis.PollInterval < TimeSpan.FromMilliseconds(1) || redis.PollInterval > TimeSpan.FromSeconds(5))
        {
            problems.Add($"Dedup:Redis:PollInterval must be between 00:00:00.001 and 00:00:05 (got {redis.PollInterval:c}).");
        }

        if (redis.ConnectTimeout <= TimeSpan.Zero || redis.ConnectTimeout > TimeSpan.FromMinutes(1))
        {
            problems.Add($"Dedup:Redis:ConnectTimeout must be above zero and at most 00:01:00 (got {redis.ConnectTimeout:c}).");
        }

        if (redis.OperationTimeout <= TimeSpan.Zero || redis.OperationTimeout > TimeSpan.FromSeconds(30))
        {
            problems.Add($"Dedup:Redis:OperationTimeout must be above zero and at most 00:00:30 (got {redis.OperationTimeout:c}).");
        }

        if (!Enum.IsDefined(redis.OnUnavailable))
        {
            problems.Add("Dedup:Redis:OnUnavailable must be StorageBackstop or Reject.");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
