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
    /// it (or, after a missed release, waits for the reservation to be taken over or expire). For a commit, returns which
    /// keys were no longer <paramref name="holder"/>'s (another request may have stored those events too); empty for a release.
    /// </summary>
    public static async Task<bool[]> SettleAsync(this IDedupStore dedup, string tenant, UInt128[] keys, ReservationHolder holder, bool committed, IngestTelemetry telemetry, ILogger logger)
    {
        var lost = committed ? new bool[keys.Length] : [];
        try
        {
            if (committed)
            {
                await dedup.CommitAsync(tenant, keys, holder, lost, CancellationToken.None);
            }
            else
            {
                await dedup.ReleaseAsync(tenant, keys, holder, CancellationToken.None);
            }
        }
        catch (Exception ex)
        {
            telemetry.DedupErrors.Add(1);
            LogSettleFailed(logger, ex, committed ? "commit" : "release");
        }

        return lost;
    }

    /// <summary>
    /// Before a write makes events durable: confirms this process still owns their reservations. When it does not
    /// (or cannot tell and is configured to refuse), releases what it still holds and rethrows, so nothing is written.
    /// </summary>
    public static async Task ConfirmOrReleaseAsync(this IDedupStore dedup, string tenant, UInt128[] keys, ReservationHolder holder, IngestTelemetry telemetry, ILogger logger)
    {
        try
        {
            await holder.ConfirmAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is ReservationLostException or DedupUnavailableException)
        {
            await dedup.SettleAsync(tenant, keys, holder, committed: false, telemetry, logger);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dedup {Operation} failed after the write's outcome was known")]
    private static partial void LogSettleFailed(ILogger logger, Exception ex, string operation);
}
