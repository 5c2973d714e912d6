using Platform.Ingest.Storage;

namespace Platform.Ingest.Writing;

/// <summary>
/// Where a request's new events go once their dedup keys are reserved. The writer owns the reservations from then on:
/// it commits them once the events are durable and releases them when they cannot be made durable.
/// </summary>
internal interface IEventWriter
{
    /// <summary>
    /// Completes when the batch is durable, with how many of its events storage added (all of them when the backend
    /// cannot tell). Throws <see cref="WriteQueueFullException"/> at once when there is no room, and
    /// <see cref="StorageUnavailableException"/> when the events could not be made durable; in both cases nothing of the
    /// batch is stored and its reservations are released.
    /// </summary>
    Task<int> WriteAsync(IngestBatch batch, UInt128[] reservedKeys);
}
