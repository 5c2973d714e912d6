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
    /// Returns who holds the reservations, to be passed to <see cref="CommitAsync"/> and <see cref="ReleaseAsync"/>
    /// and confirmed (<see cref="ReservationHolder.ConfirmAsync"/>) before the events are made durable.
    /// Throws <see cref="DedupUnavailableException"/> when the store cannot answer, and
    /// <see cref="ReservationLostException"/> when this process lost its claim on reservations while waiting.
    /// </summary>
    ValueTask<ReservationHolder> ReserveAsync(string tenant, ReadOnlyMemory<UInt128> keys, Memory<bool> results, CancellationToken cancellationToken);

    /// <summary>
    /// Marks reserved keys as stored for the whole dedup window. lost[i] (when <paramref name="lost"/> is not empty) is
    /// set when keys[i] was no longer held by <paramref name="holder"/>: another request may have stored the event too.
    /// </summary>
    ValueTask CommitAsync(string tenant, ReadOnlyMemory<UInt128> keys, ReservationHolder holder, Memory<bool> lost, CancellationToken cancellationToken);

    /// <summary>Drops reservations after a failed insert; only those <paramref name="holder"/> still holds.</summary>
    ValueTask ReleaseAsync(string tenant, ReadOnlyMemory<UInt128> keys, ReservationHolder holder, CancellationToken cancellationToken);
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

/// <summary>
/// This process stopped being the live owner of a request's reservations (it stalled past its owner lease, or Redis
/// lost the lease key), so another request may have taken them over and stored the same events. The request must not
/// be acknowledged as the one that stored them; the client's retry is answered from the dedup store.
/// </summary>
internal sealed class ReservationLostException(bool afterDurable)
    : Exception(afterDurable
        ? "this process lost its claim on an event while storing it; the event is durable and may also have been stored by another request"
        : "this process lost its claim on an event before storing it; nothing was stored")
{
    /// <summary>True when the events had already been made durable when the loss was found (storage collapses the repeat).</summary>
    public bool AfterDurable { get; } = afterDurable;
}
