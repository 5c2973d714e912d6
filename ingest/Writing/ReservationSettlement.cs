using Platform.Ingest.Dedup;
using Platform.Ingest.Telemetry;

namespace Platform.Ingest.Writing;

/// <summary>
/// Settles a write's dedup reservations once its fate is known: committed when the events are durable, released when
/// they are not. Shared by both writers.
/// </summary>
internal static partial class ReservationSettlement
{
    /// <summary>
    /// Commits or releases <paramref name="keys"/>; a failure is counted and logged, never thrown. The events' fate is
    /// decided by the write; a dedup store that missed the update only means a retry reaches storage, which collapses
    /// it (or, after a missed release, waits for the reservation to expire).
    /// </summary>
    public static async Task SettleAsync(this IDedupStore dedup, string tenant, UInt128[] keys, bool committed, IngestTelemetry telemetry, ILogger logger)
    {
        try
        {
            if (committed)
            {
                await dedup.CommitAsync(tenant, keys, CancellationToken.None);
            }
            else
            {
                await dedup.ReleaseAsync(tenant, keys, CancellationToken.None);
            }
        }
        catch (Exception ex)
        {
            telemetry.DedupErrors.Add(1);
            LogSettleFailed(logger, ex, committed ? "commit" : "release");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dedup {Operation} failed after the write's outcome was known")]
    private static partial void LogSettleFailed(ILogger logger, Exception ex, string operation);
}
