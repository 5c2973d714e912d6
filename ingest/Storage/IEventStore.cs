using Platform.Ingest.Events;

namespace Platform.Ingest.Storage;

/// <summary>
/// Durable storage of group events. One contract, several backends (DuckDB embedded; ClickHouse in production).
/// Implementations are idempotent on (tenant, event id): storing an event twice never counts it twice.
/// </summary>
internal interface IEventStore
{
    /// <summary>Creates or migrates the schema. Called once at start, before traffic.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores raw events, one trait row per trait per event, and memberships (first/last seen).
    /// Returns only when the rows are durable, saying which events were new to storage. Throws when they may not be
    /// durable; the caller then answers 503.
    /// </summary>
    Task<InsertOutcome> InsertAsync(IReadOnlyList<IngestBatch> batches, CancellationToken cancellationToken);

    /// <summary>True when the backend answers a trivial query.</summary>
    Task<bool> IsHealthyAsync(CancellationToken cancellationToken);

    /// <summary>Counts of what is stored for one tenant (distinct events, trait rows of distinct events, memberships).</summary>
    Task<StoredCounts> CountAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>
    /// The group's current profile: per trait key, the value (minified JSON) of the trait row with the latest
    /// (event time, event id); ties on time go to the greater event id (ordinal). A trait whose latest row clears it
    /// is absent, even when older rows carry values, so values are never null. Empty when the group is unknown to the tenant.
    /// </summary>
    Task<IReadOnlyDictionary<string, string>> GetCurrentTraitsAsync(string tenant, string groupId, CancellationToken cancellationToken);
}

internal readonly record struct StoredCounts(long Events, long TraitRows, long Memberships);

/// <summary>
/// Which events one insert actually added. A backend that cannot tell without a read of its own (ClickHouse: the engine
/// collapses repeats at merge time, after the insert returned) reports every event as added.
/// </summary>
internal sealed class InsertOutcome
{
    /// <summary>The backend does not know which events were already stored.</summary>
    public static readonly InsertOutcome Unknown = new(null);

    private readonly HashSet<GroupEvent>? _added;

    /// <param name="added">The events (by reference, as passed to the insert) that were not stored before.</param>
    public InsertOutcome(HashSet<GroupEvent>? added) => _added = added;

    /// <summary>True when the counts come from storage itself.</summary>
    public bool IsExact => _added is not null;

    /// <summary>How many of the batch's events this insert added.</summary>
    public int AddedIn(IngestBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_added is null)
        {
            return batch.Events.Count;
        }

        var added = 0;
        foreach (var groupEvent in batch.Events)
        {
            if (_added.Contains(groupEvent))
            {
                added++;
            }
        }

        return added;
    }
}
