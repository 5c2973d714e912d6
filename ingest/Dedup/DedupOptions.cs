using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Platform.Ingest.Storage;
using Platform.Ingest.Writing;
using Platform.ServiceDefaults.Hosting;
using Platform.ServiceDefaults.Redis;

namespace Platform.Ingest.Dedup;

/// <summary>Section "Dedup": how retried events are recognised before they reach storage.</summary>
internal sealed class DedupOptions
{
    public const string Section = "Dedup";

    /// <summary>InMemory (one process; the embedded default) or Redis (shared by every ingest instance).</summary>
    [EnumDataType(typeof(DedupBackend))]
    public DedupBackend Backend { get; set; } = DedupBackend.InMemory;

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
    [ValidateObjectMembers]
    public RedisDedupOptions Redis { get; set; } = new();
}

/// <summary>Where event identities are remembered.</summary>
internal enum DedupBackend
{
    /// <summary>In this process: the embedded default, for one ingest instance.</summary>
    InMemory,

    /// <summary>In Redis, shared by every ingest instance.</summary>
    Redis,
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
internal sealed class RedisDedupOptions : RedisOptions
{
    public RedisDedupOptions()
    {
        // The rest of a key is the event identity's 16 raw bytes.
        KeyPrefix = "platform:dedup:";
        OperationTimeout = TimeSpan.FromSeconds(1);
    }

    /// <summary>
    /// The longest a reservation lives when its holder never commits or releases it and no other request takes it over.
    /// Longer than <c>Writer:InsertTimeout</c> plus <c>Writer:MaxBatchDelay</c> (on DuckDB, where a request waits for its
    /// own insert), so a live request never loses its reservation; at most <c>Dedup:Window</c>. A crashed process's
    /// reservations are normally taken over much sooner, after <see cref="OwnerLease"/>.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ReservationTtl { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long this process's liveness key lives in Redis without a refresh. Once it has lapsed (the process died, or
    /// stalled this long), another request may take over the process's reservations; the longest a client's retry
    /// waits for the reservations of a crashed process. Shorter than <see cref="ReservationTtl"/> and than
    /// <c>Dedup:InFlightWait</c>, so that retry is stored within its own wait.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:05:00")]
    public TimeSpan OwnerLease { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the liveness key is refreshed, by a thread of its own; at most a third of <see cref="OwnerLease"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:40")]
    public TimeSpan OwnerRefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a request re-checks an identity that another request is still storing.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:05")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>StorageBackstop (default: keep ingesting, readiness Degraded) or Reject (answer 503 while Redis is down).</summary>
    [EnumDataType(typeof(RedisUnavailableMode))]
    public RedisUnavailableMode OnUnavailable { get; set; } = RedisUnavailableMode.StorageBackstop;
}

[OptionsValidator]
internal sealed partial class DedupOptionsValidator : IValidateOptions<DedupOptions>;

/// <summary>
/// The relations of the Redis settings, among themselves and with the dedup window and the writer's timeouts, when
/// Redis is the backend (the in-memory store has no reservations that expire).
/// </summary>
internal sealed class DedupOptionsRules(IOptions<WriterOptions> writer, IOptions<StorageOptions> storage) : IValidateOptions<DedupOptions>
{
    public ValidateOptionsResult Validate(string? name, DedupOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Backend != DedupBackend.Redis)
        {
            return ValidateOptionsResult.Success;
        }

        var problems = new List<string>();
        var redis = options.Redis;
        if (string.IsNullOrWhiteSpace(redis.ConnectionString))
        {
            problems.Add("Dedup:Redis:ConnectionString is required when Dedup:Backend is Redis.");
        }

        if (redis.ReservationTtl > options.Window)
        {
            problems.Add($"Dedup:Redis:ReservationTtl ({redis.ReservationTtl:c}) must not exceed Dedup:Window ({options.Window:c}).");
        }

        if (redis.OwnerLease >= redis.ReservationTtl)
        {
            problems.Add($"Dedup:Redis:OwnerLease ({redis.OwnerLease:c}) must be shorter than Dedup:Redis:ReservationTtl ({redis.ReservationTtl:c}): otherwise a crashed process's reservations expire before its lease does, and the lease recovers nothing.");
        }

        if (redis.OwnerLease >= options.InFlightWait)
        {
            problems.Add($"Dedup:Redis:OwnerLease ({redis.OwnerLease:c}) must be shorter than Dedup:InFlightWait ({options.InFlightWait:c}): a client's retry after a crash waits for the lease to lapse, and must be stored within that wait.");
        }

        if (redis.OwnerRefreshInterval > redis.OwnerLease / 3)
        {
            problems.Add($"Dedup:Redis:OwnerRefreshInterval ({redis.OwnerRefreshInterval:c}) must be at most a third of Dedup:Redis:OwnerLease ({redis.OwnerLease / 3:c}): a live process must survive a refresh that is late or lost.");
        }

        if (redis.OperationTimeout > redis.OwnerLease / 3)
        {
            problems.Add($"Dedup:Redis:OperationTimeout ({redis.OperationTimeout:c}) must be at most a third of Dedup:Redis:OwnerLease ({redis.OwnerLease:c}): one slow refresh must not use up the lease.");
        }

        // On DuckDB a request holds its reservations while it waits for its insert; behind the log it holds them only
        // until the append is fsynced, which no setting bounds.
        var writes = writer.Value;
        if (!storage.Value.UsesWriteAheadLog && redis.ReservationTtl <= writes.InsertTimeout + writes.MaxBatchDelay)
        {
            problems.Add($"Dedup:Redis:ReservationTtl ({redis.ReservationTtl:c}) must exceed Writer:InsertTimeout plus Writer:MaxBatchDelay ({writes.InsertTimeout + writes.MaxBatchDelay:c}): a request still waiting for its insert must not lose its reservations to a retry.");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
