using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Platform.Ingest.GroupApi;
using Platform.Ingest.Storage;

namespace Platform.Ingest.Writing;

/// <summary>
/// Section "Writer": what a 200 waits for, and (embedded DuckDB, where requests wait for their own insert) the group
/// commit that turns many requests into few large inserts. With ClickHouse the write-ahead log does the group commit
/// (section "Log") and the shipper sizes the inserts (section "Shipper").
/// </summary>
internal sealed class WriterOptions
{
    public const string Section = "Writer";

    /// <summary>
    /// DuckDB: events accepted but not yet stored, across all requests. Beyond it requests get 503 with Retry-After. At
    /// least <c>GroupApi:MaxEventsPerRequest</c>: a request is never split, so a bigger one could never be queued.
    /// </summary>
    [Range(1_000, 10_000_000)]
    public int MaxQueuedEvents { get; set; } = 200_000;

    /// <summary>DuckDB: upper bound of one insert, in events. A request's events are never split between inserts.</summary>
    [Range(1, 1_000_000)]
    public int MaxBatchEvents { get; set; } = 20_000;

    /// <summary>
    /// DuckDB: how long the writer waits for more requests before inserting a small batch. Zero inserts at once;
    /// batches still grow under load because requests queue while the previous insert runs.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan MaxBatchDelay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// DuckDB: an insert taking longer than this is abandoned and its requests answered 503. Below
    /// <c>Dedup:Redis:ReservationTtl</c>, so a live request never outlives its dedup reservations.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan InsertTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// What a 200 means when the request does not say (<c>Prefer: ack=durable</c> or <c>ack=queryable</c>): Durable
    /// (fsynced in the write-ahead log, queryable within the shipping delay) or Queryable (in storage). The embedded
    /// DuckDB backend always answers queryable.
    /// </summary>
    public AckMode Ack { get; set; } = AckMode.Durable;

    /// <summary>How long a queryable ack waits for the shipper before answering 503 (the events stay durable; a retry is answered as duplicates).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan QueryableWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Fairness under overload: once more than this share of what may wait to be stored is used (the write queue's
    /// <see cref="MaxQueuedEvents"/> on DuckDB, the write-ahead log's <c>Log:MaxBytes</c> on ClickHouse), a tenant that
    /// already holds its fair share of it (the bound divided among the tenants holding some) is answered 429 with
    /// Retry-After, while tenants under their share are still taken until the bound itself (503). Below it anyone may
    /// take what fits, so a tenant alone can use everything. 1 turns fairness off (first come, first served).
    /// </summary>
    [Range(0.0, 1.0)]
    public double FairShareAbove { get; set; } = 0.5;

    /// <summary>The Retry-After given with a 503, and with a 429 for a tenant over its fair share.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(2);
}

[OptionsValidator]
internal sealed partial class WriterOptionsValidator : IValidateOptions<WriterOptions>;

/// <summary>On DuckDB, where requests wait in the writer's queue: the queue holds the largest request the Group API takes.</summary>
internal sealed class WriterOptionsRules(IOptions<StorageOptions> storage, IOptions<GroupApiOptions> groupApi) : IValidateOptions<WriterOptions>
{
    public ValidateOptionsResult Validate(string? name, WriterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var largest = groupApi.Value.MaxEventsPerRequest;
        return !storage.Value.UsesWriteAheadLog && options.MaxQueuedEvents < largest
            ? ValidateOptionsResult.Fail(
                $"Writer:MaxQueuedEvents ({options.MaxQueuedEvents}) must be at least GroupApi:MaxEventsPerRequest ({largest}): " +
                "a request is never split, so a larger one could never be queued and would always be answered 503.")
            : ValidateOptionsResult.Success;
    }
}
