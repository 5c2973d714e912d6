using Platform.Ingest.Events;

namespace Platform.Ingest.Storage;

/// <summary>The new (not duplicate) events of one request, for one tenant. Stored atomically.</summary>
internal sealed class IngestBatch
{
    public required string Tenant { get; init; }

    public required IReadOnlyList<GroupEvent> Events { get; init; }

    /// <summary>When the request was received, microseconds since the Unix epoch.</summary>
    public required long ReceivedAtMicros { get; init; }
}
