namespace Platform.Ingest.Query;

/// <summary>A group's merged profile. Trait values are minified JSON; cleared traits are absent.</summary>
internal sealed record GroupProfile(
    string GroupId,
    IReadOnlyDictionary<string, string> Traits,
    long MemberCount,
    long FirstSeenMicros,
    long LastSeenMicros);

/// <summary>One side of a membership: the user (of a group) or the group (of a user), with first and last seen.</summary>
internal sealed record MembershipRow(string Id, long FirstSeenMicros, long LastSeenMicros);

/// <summary>A group in a filtered listing, with its current traits.</summary>
internal sealed record GroupRow(string GroupId, IReadOnlyDictionary<string, string> Traits);

/// <summary>Groups counted by a trait's current value: the top values, the rest, and groups without a value.</summary>
internal sealed record TraitCounts(IReadOnlyList<TraitBucket> Top, long Other, long Missing);

internal sealed record TraitBucket(string ValueJson, long Groups);

/// <summary>One change of a trait: its value (null when the event cleared it), the event time and the event id.</summary>
internal sealed record TraitChange(string? ValueJson, long TimestampMicros, string EventId);

/// <summary>Where a page starts: strictly after this position in the listing's order.</summary>
internal readonly record struct HistoryPosition(long TimestampMicros, string EventId);

internal enum FilterOperator
{
    /// <summary>The value equals one of the operands (a string, or a number/boolean literal), or is an array holding one.</summary>
    Equals,
    Prefix,
    GreaterThan,
    GreaterOrEqual,
    LessThan,
    LessOrEqual,
}

/// <summary>
/// A condition on a trait's current value. For <see cref="FilterOperator.Equals"/> the operands are the JSON texts
/// that match (already encoded); for <see cref="FilterOperator.Prefix"/> the encoded prefix without its closing quote;
/// for ranges the number.
/// </summary>
internal sealed record TraitFilter(string Key, FilterOperator Operator, IReadOnlyList<string> JsonOperands, double Number = 0);
