namespace Platform.Ingest.Events;

/// <summary>One validated group event, ready for storage. Built by the Group API parser.</summary>
internal sealed class GroupEvent
{
    /// <summary>Stable id: 32 hex characters of the event's identity hash (message_id or content).</summary>
    public required string EventId { get; init; }

    /// <summary>The same identity as a number: the dedup key. Includes the tenant.</summary>
    public required UInt128 Key { get; init; }

    public string? MessageId { get; init; }

    public required string GroupId { get; init; }

    public required string UserId { get; init; }

    /// <summary>Event time in microseconds since the Unix epoch, UTC. Also the trait version.</summary>
    public required long TimestampMicros { get; init; }

    public required string GroupType { get; init; }

    /// <summary>Traits sorted by key (ordinal). A null <see cref="TraitValue.Json"/> clears the trait.</summary>
    public required TraitValue[] Traits { get; init; }

    /// <summary>The traits object as canonical JSON (sorted keys, minified).</summary>
    public required string TraitsJson { get; init; }

    /// <summary>The context object as minified JSON, or null when the event had none.</summary>
    public string? ContextJson { get; init; }
}

/// <summary>One trait of one event. <see cref="Json"/> is the value as minified JSON; null means "clear".</summary>
internal readonly record struct TraitValue(string Key, string? Json);
