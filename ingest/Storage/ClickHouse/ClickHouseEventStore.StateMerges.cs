using Microsoft.Extensions.Logging;
using static Platform.Ingest.Storage.ClickHouse.ClickHouseSql;

namespace Platform.Ingest.Storage.ClickHouse;

/// <summary>
/// Keeps <c>trait_states</c> in few parts when its flushes rewrite most of it.
/// </summary>
/// <remarks>
/// Every read of a current value merges the key's state from every active part. When most keys change within each
/// state interval (a busy tenant re-sending its groups), each flush writes a part about the size of the whole table,
/// and ClickHouse's merge schedule waits for four or five such parts before it merges them: every listing and count
/// then reads and merges three copies of each state on average. Measured beside half-peak writes on the 2-core machine
/// (perf/README.md): with this rule the table holds one to three parts instead of one to five, and those reads take
/// half the rows, for a merge of two or three flushes' worth every other flush (about four a minute there).
/// The rule: after a flush, when the table holds at least <see cref="MergeFromParts"/> active parts and its largest
/// part is at most <see cref="MergeSizeRatio"/> times the flush, ask for an unscheduled merge (<c>OPTIMIZE TABLE</c>
/// without FINAL: ClickHouse still picks the parts, preferring small ones). A large table whose flushes are small next
/// to it is left to ClickHouse: its reads are dominated by its largest part, and merging it after every flush would
/// rewrite it every few seconds. One merge request at a time per process, off the shipping loop; a failure is logged
/// and changes nothing (merging never changes a current value). Not on a cluster, where the replicas' merges are
/// scheduled through ZooKeeper.
/// </remarks>
internal sealed partial class ClickHouseEventStore
{
    internal const int MergeFromParts = 3;

    internal const int MergeSizeRatio = 4;

    private int _merging;
    private volatile bool _disposed;

    /// <summary>The last merge request, for tests to wait on (completed when none ran).</summary>
    internal Task StateMerge { get; private set; } = Task.CompletedTask;

    /// <summary>After a flush of <paramref name="flushedRows"/> states: starts a merge request when the rule above says so.</summary>
    private void MergeStatesSoon(int flushedRows)
    {
        if (!_options.MergeStates || _layout.IsCluster || _disposed || Interlocked.CompareExchange(ref _merging, 1, 0) != 0)
        {
            return;
        }

        StateMerge = Task.Run(async () =>
        {
            try
            {
                await MergeStatesAsync(flushedRows);
            }
            catch (Exception ex) when (!_disposed)
            {
                LogStateMergeFailed(ex);
            }
            catch (Exception)
            {
                // Stopping: the client is gone, and the merge was only ever a request.
            }
            finally
            {
                Volatile.Write(ref _merging, 0);
            }
        });
    }

    private async Task MergeStatesAsync(int flushedRows)
    {
        var parts = (await QueryAsync($"""
            SELECT count() AS parts, max(rows) AS largest
            FROM system.parts
            WHERE database = {String(_layout.Database)} AND table = {String(ClickHouseSchema.TraitStates.Name)} AND active
            FORMAT JSONEachRow
            """, CancellationToken.None))[0];
        if (Int(parts, "parts") >= MergeFromParts && Int(parts, "largest") <= (long)flushedRows * MergeSizeRatio)
        {
            await ExecuteAsync($"OPTIMIZE TABLE {_layout.Table(ClickHouseSchema.TraitStates.Name)}", CancellationToken.None);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Asking ClickHouse to merge trait_states failed; its merge schedule goes on")]
    private partial void LogStateMergeFailed(Exception exception);
}
