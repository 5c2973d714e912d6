namespace Platform.Ingest.Query;

/// <summary>
/// The read side of storage, always within one tenant. Every backend answers with the same merge semantics:
/// per trait, the value of the event with the latest (timestamp, event id); a clear hides older values; a stored
/// duplicate never counts twice. Listings return at most <c>limit</c> rows strictly after the given position.
/// </summary>
internal interface IGroupQueries
{
    /// <summary>The group's profile, or null when the tenant has no such group.</summary>
    Task<GroupProfile?> GetGroupAsync(string tenant, string groupId, CancellationToken cancellationToken);

    /// <summary>The group's users ordered by user id.</summary>
    Task<IReadOnlyList<MembershipRow>> GetGroupUsersAsync(string tenant, string groupId, string? afterUserId, int limit, CancellationToken cancellationToken);

    /// <summary>The user's groups ordered by group id.</summary>
    Task<IReadOnlyList<MembershipRow>> GetUserGroupsAsync(string tenant, string userId, string? afterGroupId, int limit, CancellationToken cancellationToken);

    /// <summary>Groups whose current traits satisfy every filter, ordered by group id, with their current traits.</summary>
    Task<IReadOnlyList<GroupRow>> FindGroupsAsync(string tenant, IReadOnlyList<TraitFilter> filters, string? afterGroupId, int limit, CancellationToken cancellationToken);

    /// <summary>Among groups satisfying the filters, counts by the trait's current value: the <paramref name="top"/> most common, then the rest.</summary>
    Task<TraitCounts> CountGroupsByTraitAsync(string tenant, string traitKey, IReadOnlyList<TraitFilter> filters, int top, CancellationToken cancellationToken);

    /// <summary>Every stored change of one trait of one group, oldest first (by timestamp, then event id).</summary>
    Task<IReadOnlyList<TraitChange>> GetTraitHistoryAsync(string tenant, string groupId, string traitKey, HistoryPosition? after, int limit, CancellationToken cancellationToken);
}
