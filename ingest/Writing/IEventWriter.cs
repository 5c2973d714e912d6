using Platform.Ingest.Storage;

namespace Platform.Ingest.Writing;

/// <summary>
/// Where a request's new events go once their dedup keys are reserved. The writer owns the reservations from then on:
/// it commits them once the events are durable and releases them when they cannot be made durable.
/// </summary>
internal interface IEventWriter
{
    /// <summary>
    /// Completes when the batch is durable (and, with <see cref="AckMode.Queryable"/>, in storage), with how many of its
    /// events storage added (all of them when the backend cannot tell). Throws <see cref="WriteQueueFullException"/> or
    /// <see cref="Log.LogFullException"/> at once when there is no room, <see cref="FairShareExceededException"/> when the
    /// write path is congested and the batch's tenant holds its fair share of it, and <see cref="StorageUnavailableException"/>
    /// when the events could not be made durable; in these cases nothing of the batch is stored and its reservations
    /// are released. Throws <see cref="NotYetQueryableException"/> when the batch is durable (its reservations
    /// committed) but a queryable ack could not be given in time. Throws <see cref="Dedup.ReservationLostException"/>
    /// when <paramref name="holder"/> lost the reservations (this process stalled past its owner lease): before the write
    /// (nothing stored, the rest released) or, rarely, found only at the commit (durable; storage collapses the repeat).
    /// </summary>
    Task<int> WriteAsync(IngestBatch batch, UInt128[] reservedKeys, Dedup.ReservationHolder holder, AckMode ack);

    /// <summary>
    /// Completes when every event durable so far is also queryable; for a request of duplicates only that asked for a
    /// queryable ack. Throws <see cref="NotYetQueryableException"/> when that takes too long.
    /// </summary>
    Task WaitQueryableAsync();

    /// <summary>
    /// Whether a request of <paramref name="tenant"/> would now be refused for fairness (<see cref="FairShareExceededException"/>)
    /// whatever its size: checked before its dedup reservations are made, so such a refusal costs no round trip.
    /// </summary>
    bool IsOverFairShare(string tenant);
}
