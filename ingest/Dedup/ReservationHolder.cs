namespace Platform.Ingest.Dedup;

/// <summary>
/// Who holds a request's dedup reservations. With Redis it is one lease of this process's owner identity (see
/// <see cref="RedisOwnerLease"/>): a reservation whose owner's lease lapsed may be taken over by another request, so
/// before a write makes events durable it confirms the lease still holds. Keeping the claim per request (not reading
/// the store's current identity again later) is what lets a request notice that the identity it reserved under died.
/// </summary>
internal abstract class ReservationHolder
{
    /// <summary>Reservations that cannot be taken over (the in-memory store, one process) or none at all (Redis fell back on storage).</summary>
    public static readonly ReservationHolder Unconditional = new UnconditionalHolder();

    /// <summary>
    /// Completes when the reservations may still be taken to be this process's; normally a local check without a round
    /// trip. Throws <see cref="ReservationLostException"/> when they may have been taken over, and
    /// <see cref="DedupUnavailableException"/> when that cannot be known and the store is configured to refuse.
    /// </summary>
    public abstract ValueTask ConfirmAsync(CancellationToken cancellationToken);

    private sealed class UnconditionalHolder : ReservationHolder
    {
        public override ValueTask ConfirmAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
