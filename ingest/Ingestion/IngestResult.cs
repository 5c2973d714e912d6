using Platform.ServiceDefaults.Contract;

namespace Platform.Ingest.Ingestion;

/// <summary>Why a request could not be stored now, though it may be later: each is a 503 with Retry-After.</summary>
internal enum UnavailableReason
{
    /// <summary>Another request holding one of the same events is still storing it; the dedup store itself is healthy.</summary>
    EventInFlight,

    /// <summary>The dedup store did not answer (and is configured to refuse rather than fall back on storage).</summary>
    DedupUnreachable,

    /// <summary>The write queue (embedded backend) is full because storage is behind.</summary>
    QueueFull,

    /// <summary>Storage (or the log) did not confirm the write.</summary>
    StorageUnavailable,

    /// <summary>The write-ahead log holds as much unshipped data as it may, because storage is behind or down.</summary>
    LogFull,

    /// <summary>
    /// This process stalled past its dedup owner lease, so another request may have taken over the events'
    /// reservations. Nothing was stored when found before the write; when found only at the commit, the events are
    /// durable and storage collapses the repeat. Either way a retry is answered from the dedup store.
    /// </summary>
    ReservationLost,

    /// <summary>
    /// The events are durable and will be queryable, but were not within the queryable-ack wait. The one 503 after
    /// which the events are kept: a retry is answered 200 with them counted as duplicates.
    /// </summary>
    NotYetQueryable,
}

/// <summary>Why a tenant is asked to slow down: each is a 429 with Retry-After, and nothing of the request was stored.</summary>
internal enum ThrottleReason
{
    /// <summary>The tenant is over its events-per-second limit (section "EventLimits").</summary>
    EventRate,

    /// <summary>
    /// The write path is congested (the write-ahead log or the write queue past its fair-share threshold) and the tenant
    /// holds more of it than its fair share; tenants under their share are still taken.
    /// </summary>
    FairShare,
}

/// <summary>What the ingest pipeline did with one request. The endpoint maps it to the contract's answer and nothing else.</summary>
internal abstract record IngestResult
{
    private IngestResult()
    {
    }

    /// <summary>Every event is durable: <paramref name="Accepted"/> were added now, <paramref name="Duplicates"/> were stored before or repeated in the request.</summary>
    public sealed record Stored(int Accepted, int Duplicates) : IngestResult;

    /// <summary>The body or an event is invalid; nothing was stored.</summary>
    public sealed record Invalid(string Message, IReadOnlyList<ApiError> Errors) : IngestResult;

    /// <summary>Nothing was stored; the client should retry after <paramref name="RetryAfter"/>.</summary>
    public sealed record Unavailable(UnavailableReason Reason, TimeSpan RetryAfter) : IngestResult;

    /// <summary>The tenant is asked to slow down; nothing was stored, retry after <paramref name="RetryAfter"/>.</summary>
    public sealed record Throttled(ThrottleReason Reason, TimeSpan RetryAfter) : IngestResult;

    /// <summary>The client went away before an outcome; nothing was stored and nobody is left to answer.</summary>
    public sealed record Abandoned : IngestResult;
}
