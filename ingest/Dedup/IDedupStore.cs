namespace Platform.Ingest.Dedup;

/// <summary>
/// The fast-path duplicate filter. Reserve before storing, commit after the insert succeeded,
/// release when it failed so that the client's retry is not mistaken for a duplicate.
/// Storage stays the backstop: losing this store's keys may let a duplicate reach storage, never a query result.
/// </summary>
internal interface IDedupStore
{
    /// <summary>
    /// Tries to reserve each key. results[i] is true when keys[i] is new and now reserved by the caller,
    /// false when it was already stored within the window. Waits (bounded) for keys another request holds.
    /// Throws <see cref="DedupUnavailableException"/> when the store cannot answer.
    /// </summary>
    ValueTask ReserveAsync(string tenant, ReadOnlyMemory<UInt128> keys, Memory<bool> results, CancellationToken cancellationToken);

    /// <summary>Marks reserved keys as stored for the whole dedup window.</summary>
    ValueTask CommitAsync(string tenant, ReadOnlyMemory<UInt128> keys, CancellationToken cancellationToken);

    /// <summary>Drops reservations after a failed insert.</summary>
    ValueTask ReleaseAsync(string tenant, ReadOnlyMemory<UInt128> keys, CancellationToken cancellationToken);
}

internal sealed class DedupUnavailableException(string message, Exception? inner = null, bool inFlightElsewhere = false)
    : Exception(message, inner)
{
    /// <summary>
    /// The store answered, but another request holding one of the events had not finished storing it within the wait:
    /// the store is healthy, the event is busy.
    /// </summary>
    public bool InFlightElsewhere { get; } = inFlightElsewhere;

    /// <summary>For the "held by another request" case, which is not a failure of the store.</summary>
    public static DedupUnavailableException InFlight() =>
        new("another request holding the same event is still being stored", inFlightElsewhere: true);
}
