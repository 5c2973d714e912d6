namespace Platform.Perf.LoadGen.Bodies;

/// <summary>One query API read: the path and query to GET, and the endpoint it belongs to (latencies are kept per endpoint).</summary>
internal readonly record struct QueryRead(string PathAndQuery, string Endpoint);

/// <summary>
/// Picks query API reads the way a dashboard would mix them: mostly group profiles and member lists, some filtered group
/// listings, a few counts over the whole tenant. Groups are those of events <c>0 .. seededEvents - 1</c> of any run
/// (an event's group does not depend on the run), so after a write run of that many events every read finds its group.
/// </summary>
internal sealed class QueryReads
{
    // The mix, in percent: profile 40, members 30, filtered listing 20, counts 10.
    private static readonly (int UpTo, string Endpoint)[] Mix =
    [
        (40, "GET /api/groups/{id}"),
        (70, "GET /api/groups/{id}/users"),
        (90, "GET /api/groups?trait.planName="),
        (100, "GET /api/traits/planName/counts"),
    ];

    private readonly GroupEvents _events;
    private readonly long _seededEvents;

    public QueryReads(GroupEvents events, long seededEvents)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seededEvents);
        _events = events;
        _seededEvents = seededEvents;
    }

    public static IReadOnlyList<string> Endpoints { get; } = [.. Mix.Select(m => m.Endpoint)];

    public QueryRead Next()
    {
        var roll = Random.Shared.Next(100);
        var group = Uri.EscapeDataString(_events.GroupId(Random.Shared.NextInt64(_seededEvents)));
        if (roll < Mix[0].UpTo)
        {
            return new QueryRead($"/api/groups/{group}", Mix[0].Endpoint);
        }

        if (roll < Mix[1].UpTo)
        {
            return new QueryRead($"/api/groups/{group}/users?limit=50", Mix[1].Endpoint);
        }

        if (roll < Mix[2].UpTo)
        {
            var plan = GroupEvents.Plans[Random.Shared.Next(GroupEvents.Plans.Count)];
            return new QueryRead($"/api/groups?trait.planName={plan}&limit=50", Mix[2].Endpoint);
        }

        return new QueryRead("/api/traits/planName/counts?top=10", Mix[3].Endpoint);
    }
}
