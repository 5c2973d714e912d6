using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Platform.Ingest.Shipping;

/// <summary>
/// Section "Shipper": how the write-ahead log is loaded into storage. Big blocks are what keep ClickHouse cheap (its
/// cost per event is set by the number of parts an insert creates, not by the rows), so a block ships when it holds
/// <see cref="MaxBlockEvents"/> events or its oldest record has waited <see cref="MaxBlockAge"/>, whichever comes first.
/// </summary>
internal sealed class ShipperOptions
{
    public const string Section = "Shipper";

    /// <summary>
    /// A block ships at once when it holds this many events. A record (one request) is never split between blocks.
    /// 20,000 takes most of the gain (ClickHouse 18.16 costs about 17–50 CPU-µs per event at that size against 40–90 at
    /// 2,000) while a block's rows, held in one pooled buffer until its insert returns, stay well inside ingest's memory
    /// budget; bigger blocks at peak held over 1 GB resident in the benchmark for little more.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxBlockEvents { get; set; } = 20_000;

    /// <summary>
    /// A block ships when its oldest record has waited this long: the usual freshness lag of queries under light load.
    /// A request that asked for a queryable ack ships its block at once instead.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan MaxBlockAge { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the current traits (what listings, filters, counts and profiles read) may lag behind the events: the
    /// shipper keeps the latest change per (tenant, group, trait) over this many seconds of blocks and writes them in
    /// one insert, so a group re-sent every second costs one state row per key per interval instead of one per event.
    /// They are written sooner when the log goes quiet for a block age, when a request waits for a queryable ack, when
    /// <see cref="MaxPendingStates"/> is reached and on a stop. Zero writes them with every block. The log's checkpoint
    /// moves only past blocks whose states are written, so a crash replays them.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan StateInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Current-state rows held for the next state insert at most (about 150 bytes each); at this many they are written.</summary>
    [Range(1, 10_000_000)]
    public int MaxPendingStates { get; set; } = 200_000;

    /// <summary>An insert taking longer than this is abandoned and retried.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan InsertTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The first wait before retrying a failed insert; it doubles on each failure up to <see cref="MaxRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest wait between two attempts while storage is down.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// On a graceful stop, after the server has stopped taking requests, how long ingest keeps shipping what is left in
    /// the log before it exits (anything still unshipped then ships at the next start, from the same volume). The
    /// host's shutdown timeout is set to this plus ten seconds; a pod's termination grace period must exceed both.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(60);
}

[OptionsValidator]
internal sealed partial class ShipperOptionsValidator : IValidateOptions<ShipperOptions>;

/// <summary>The backoff starts below its cap.</summary>
internal sealed class ShipperOptionsRules : IValidateOptions<ShipperOptions>
{
    public ValidateOptionsResult Validate(string? name, ShipperOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.RetryDelay > options.MaxRetryDelay
            ? ValidateOptionsResult.Fail($"Shipper:RetryDelay ({options.RetryDelay:c}) must not exceed Shipper:MaxRetryDelay ({options.MaxRetryDelay:c}): the delay doubles from the first up to the cap.")
            : ValidateOptionsResult.Success;
    }
}
