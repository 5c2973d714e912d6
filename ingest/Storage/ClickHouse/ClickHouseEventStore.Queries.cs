using System.Globalization;
using System.Text;
using System.Text.Json;
using Platform.Ingest.Events;
using Platform.Ingest.GroupApi;
using Platform.Ingest.Query;
using static Platform.Ingest.Storage.ClickHouse.ClickHouseSql;

namespace Platform.Ingest.Storage.ClickHouse;

/// <summary>
/// The query API on ClickHouse. Current values come from <c>trait_states</c> (<c>argMaxMerge</c> of the state
/// per (trait, group), '' meaning cleared), from the ranges of the trait keys a query needs only, so a listing's cost
/// follows the number of groups holding those keys, not the length of history nor the number of other keys. A group's members and a trait's history read the group's range of
/// <c>events</c>; a user's groups merge the min/max states of <c>user_groups</c>. Every query filters on the tenant
/// first, and no aggregate can count a not-yet-merged duplicate twice (argMax, min, max, uniqExact, GROUP BY event id).
/// No read uses FINAL.
/// 18.16 has neither WITH subqueries nor query parameters: subqueries are nested, literals come from <see cref="ClickHouseSql"/>.
/// Aliases never reuse a column name (18.16 then mixes the alias into other aggregates).
/// </summary>
internal sealed partial class ClickHouseEventStore : IGroupQueries
{
    public async Task<GroupProfile?> GetGroupAsync(string tenant, string groupId, CancellationToken cancellationToken)
    {
        // Both reads at once: the answer waits for the slower, not for the two in turn.
        var currentTraits = ReadCurrentTraitsAsync(tenant, groupId, cancellationToken);
        var membership = QueryAsync($"""
            SELECT count() AS members, min(f) AS first_us, max(l) AS last_us FROM (
                SELECT user_id, min(event_us) AS f, max(event_us) AS l
                FROM {_layout.Table("events")}
                WHERE tenant = {String(tenant)} AND group_id = {String(groupId)}
                GROUP BY user_id
            )
            FORMAT JSONEachRow
            """, cancellationToken);
        await Task.WhenAll(currentTraits, membership);
        var rows = await membership;
        var members = Int(rows[0], "members");
        if (members == 0)
        {
            return null;
        }

        return new GroupProfile(groupId, await currentTraits, members, Int(rows[0], "first_us"), Int(rows[0], "last_us"));
    }

    /// <summary>From the group's range of <c>events</c>: cheaper than a second membership table fed on every insert.</summary>
    public Task<IReadOnlyList<MembershipRow>> GetGroupUsersAsync(string tenant, string groupId, string? afterUserId, int limit, CancellationToken cancellationToken) =>
        ReadMembershipsAsync($"""
            SELECT user_id AS id, min(event_us) AS f, max(event_us) AS l
            FROM {_layout.Table("events")}
            WHERE tenant = {String(tenant)} AND group_id = {String(groupId)} AND user_id > {String(afterUserId ?? string.Empty)}
            GROUP BY user_id
            ORDER BY user_id
            LIMIT {Number(limit)}
            FORMAT JSONEachRow
            """, cancellationToken);

    public Task<IReadOnlyList<MembershipRow>> GetUserGroupsAsync(string tenant, string userId, string? afterGroupId, int limit, CancellationToken cancellationToken) =>
        ReadMembershipsAsync($"""
            SELECT group_id AS id, minMerge(first_seen) AS f, maxMerge(last_seen) AS l
            FROM {_layout.Table("user_groups")}
            WHERE tenant = {String(tenant)} AND user_id = {String(userId)} AND group_id > {String(afterGroupId ?? string.Empty)}
            GROUP BY group_id
            ORDER BY group_id
            LIMIT {Number(limit)}
            FORMAT JSONEachRow
            """, cancellationToken);

    public async Task<IReadOnlyList<GroupRow>> FindGroupsAsync(
        string tenant, IReadOnlyList<TraitFilter> filters, string? afterGroupId, int limit, CancellationToken cancellationToken)
    {
        // The page first, from the ranges of the keys the filters name; then every current trait of the page's groups,
        // their ids as literals so the primary index finds them within each key's range. Two round trips cost less
        // than one query whose IN subquery ClickHouse cannot use for the index.
        var page = new List<string>(limit);
        foreach (var row in await QueryAsync(PageOfGroups(tenant, filters, afterGroupId, limit), cancellationToken))
        {
            page.Add(Str(row, "group_id"));
        }

        if (page.Count == 0)
        {
            return [];
        }

        var rows = await QueryAsync($"""
            SELECT group_id, trait_key, v FROM (
                SELECT group_id, trait_key, argMaxMerge(state) AS v
                FROM {_layout.Table(ClickHouseSchema.TraitStates.Name)}
                WHERE tenant = {String(tenant)} AND group_id IN ({Strings(page)})
                GROUP BY group_id, trait_key
            )
            WHERE v != ''
            ORDER BY group_id, trait_key
            FORMAT JSONEachRow
            """, cancellationToken);
        var groups = new List<GroupRow>(page.Count);
        Dictionary<string, string>? traits = null;
        string? previous = null;
        foreach (var row in rows)
        {
            var groupId = Str(row, "group_id");
            if (groupId != previous)
            {
                previous = groupId;
                traits = new Dictionary<string, string>(StringComparer.Ordinal);
                groups.Add(new GroupRow(groupId, traits));
            }

            traits!.Add(Str(row, "trait_key"), Str(row, "v"));
        }

        return groups;
    }

    public async Task<TraitCounts> CountGroupsByTraitAsync(
        string tenant, string traitKey, IReadOnlyList<TraitFilter> filters, int top, CancellationToken cancellationToken)
    {
        if (filters.Count == 0)
        {
            return await CountAllGroupsByTraitAsync(tenant, traitKey, top, cancellationToken);
        }

        // One pass: each selected group's current value of the key ('' when it has none: no JSON text is empty), counted
        // by value; the totals row counts every selected group before the LIMIT. The groups without a value sort first,
        // so the first row is theirs when there are any, and the top buckets follow.
        var key = String(traitKey);
        var (rows, totals) = await QueryWithTotalsAsync($"""
            SELECT trait_value, count() AS group_count FROM (
                SELECT group_id, anyIf(v, trait_key = {key} AND cl = 0) AS trait_value
                FROM ({CurrentValues(tenant, KeysOf(filters, traitKey), afterGroupId: null)})
                GROUP BY group_id
                HAVING {Selection(filters)}
            )
            GROUP BY trait_value WITH TOTALS
            ORDER BY trait_value != '', group_count DESC, trait_value
            LIMIT {Number(top + 1)}
            FORMAT JSON
            """, cancellationToken);
        var (buckets, missing, listed) = Buckets(rows, top);

        var selectedGroups = totals is { } t ? Int(t, "group_count") : 0;
        return new TraitCounts(buckets, selectedGroups - missing - listed, missing);
    }

    /// <summary>
    /// Counts over every group of the tenant, in two reads at once: the key's current values by value from its range
    /// alone, and the number of groups from the ids in <c>group_type</c>'s range (every group has one: see
    /// <see cref="PageOfGroups"/>), whose states need not be read. A group without a value is the difference. Reading both
    /// ranges' states in one pass, as a filtered count must, costs about twice as much.
    /// </summary>
    /// <remarks>
    /// The two reads may see different flushes: a group first stored between them is counted by one and not the other,
    /// for that one answer. <c>missing</c> never goes below zero.
    /// </remarks>
    private async Task<TraitCounts> CountAllGroupsByTraitAsync(string tenant, string traitKey, int top, CancellationToken cancellationToken)
    {
        var values = QueryWithTotalsAsync($"""
            SELECT trait_value, count() AS group_count FROM (
                SELECT group_id, argMaxMerge(state) AS trait_value
                FROM {_layout.Table(ClickHouseSchema.TraitStates.Name)}
                WHERE tenant = {String(tenant)} AND trait_key = {String(traitKey)}
                GROUP BY group_id
            )
            GROUP BY trait_value WITH TOTALS
            ORDER BY trait_value != '', group_count DESC, trait_value
            LIMIT {Number(top + 1)}
            FORMAT JSON
            """, cancellationToken);
        var groups = QueryAsync($"""
            SELECT uniqExact(group_id) AS n
            FROM {_layout.Table(ClickHouseSchema.TraitStates.Name)}
            WHERE tenant = {String(tenant)} AND trait_key = {String(KnownTraits.GroupType)}
            FORMAT JSONEachRow
            """, cancellationToken);
        await Task.WhenAll(values, groups);

        // The totals: every group holding a state of the key, cleared ('') or not.
        var (rows, totals) = await values;
        var (buckets, cleared, listed) = Buckets(rows, top);

        var withValue = (totals is { } t ? Int(t, "group_count") : 0) - cleared;
        var allGroups = Int((await groups)[0], "n");
        return new TraitCounts(buckets, withValue - listed, Math.Max(0, allGroups - withValue));
    }

    /// <summary>
    /// A count's rows, (trait_value, group_count) with the '' row first when there is one: the top buckets, the groups
    /// of the '' row, and the groups the buckets hold.
    /// </summary>
    private static (List<TraitBucket> Buckets, long Empty, long Listed) Buckets(List<JsonElement> rows, int top)
    {
        long empty = 0;
        long listed = 0;
        var buckets = new List<TraitBucket>(top);
        foreach (var row in rows)
        {
            var value = Str(row, "trait_value");
            var groups = Int(row, "group_count");
            if (value.Length == 0)
            {
                empty = groups;
            }
            else if (buckets.Count < top)
            {
                buckets.Add(new TraitBucket(value, groups));
                listed += groups;
            }
        }

        return (buckets, empty, listed);
    }

    public async Task<IReadOnlyList<TraitChange>> GetTraitHistoryAsync(
        string tenant, string groupId, string traitKey, HistoryPosition? after, int limit, CancellationToken cancellationToken)
    {
        var position = after is { } p
            ? $"AND (event_us > {Number(p.TimestampMicros)} OR (event_us = {Number(p.TimestampMicros)} AND event_id > {String(p.EventId)}))"
            : string.Empty;
        // The group's range of events that carry the key; one row per event id: a duplicate not yet merged has the same
        // (event_us, event_id). indexOf instead of ARRAY JOIN: one key is read, not every trait of every event.
        var key = String(traitKey);
        var rows = await QueryAsync($"""
            SELECT any(trait_values[indexOf(trait_keys, {key})]) AS v, event_us, event_id
            FROM {_layout.Table("events")}
            WHERE tenant = {String(tenant)} AND group_id = {String(groupId)} AND has(trait_keys, {key}) {position}
            GROUP BY event_us, event_id
            ORDER BY event_us, event_id
            LIMIT {Number(limit)}
            FORMAT JSONEachRow
            """, cancellationToken);
        var changes = new List<TraitChange>(rows.Count);
        foreach (var row in rows)
        {
            var value = Str(row, "v");
            changes.Add(new TraitChange(value.Length == 0 ? null : value, Int(row, "event_us"), Str(row, "event_id")));
        }

        return changes;
    }

    /// <summary>
    /// The listing's page of group ids, in order after the cursor. The general form groups every current value of the
    /// filters' keys by group; two cheaper forms cover the common cases, with the same answer:
    /// <list type="bullet">
    /// <item>no filter: the ids in <c>group_type</c>'s range, without reading a state. Every stored event sets
    /// <c>group_type</c> (the parsers refuse an event without it, and a clear of it), so every group has a current one;</item>
    /// <item>every filter on one key: one current value per group, tested where it is computed, with no second grouping.</item>
    /// </list>
    /// </summary>
    private string PageOfGroups(string tenant, IReadOnlyList<TraitFilter> filters, string? afterGroupId, int limit)
    {
        var after = String(afterGroupId ?? string.Empty);
        if (filters.Count == 0)
        {
            return $"""
                SELECT DISTINCT group_id
                FROM {_layout.Table(ClickHouseSchema.TraitStates.Name)}
                WHERE tenant = {String(tenant)} AND trait_key = {String(KnownTraits.GroupType)} AND group_id > {after}
                ORDER BY group_id LIMIT {Number(limit)}
                FORMAT JSONEachRow
                """;
        }

        var key = filters[0].Key;
        if (filters.All(filter => filter.Key == key))
        {
            return $"""
                SELECT group_id FROM (
                    SELECT group_id, argMaxMerge(state) AS v
                    FROM {_layout.Table(ClickHouseSchema.TraitStates.Name)}
                    WHERE tenant = {String(tenant)} AND trait_key = {String(key)} AND group_id > {after}
                    GROUP BY group_id
                )
                WHERE v != '' AND {string.Join("\n    AND ", filters.Select(Condition))}
                ORDER BY group_id LIMIT {Number(limit)}
                FORMAT JSONEachRow
                """;
        }

        return $"""
            SELECT group_id FROM ({CurrentValues(tenant, KeysOf(filters), afterGroupId)})
            GROUP BY group_id
            HAVING {Selection(filters)}
            ORDER BY group_id LIMIT {Number(limit)}
            FORMAT JSONEachRow
            """;
    }

    /// <summary>
    /// (group_id, trait_key, v, cl): the current value of each listed key per group of the tenant after the cursor;
    /// <c>cl = 1</c> when the latest change cleared the trait (then <c>v</c> is '').
    /// </summary>
    private string CurrentValues(string tenant, IEnumerable<string> keys, string? afterGroupId) => $"""
        SELECT group_id, trait_key, v, toUInt8(v = '') AS cl FROM (
            SELECT group_id, trait_key, argMaxMerge(state) AS v
            FROM {_layout.Table(ClickHouseSchema.TraitStates.Name)}
            WHERE tenant = {String(tenant)} AND group_id > {String(afterGroupId ?? string.Empty)}
              AND trait_key IN ({Strings(keys.Distinct(StringComparer.Ordinal))})
            GROUP BY group_id, trait_key
        )
        """;

    /// <summary>
    /// The trait keys whose ranges a filtered listing or count reads: the filters' keys, which enumerate every group a
    /// filter can select, and <paramref name="more"/>. (Without a filter the groups come from <c>group_type</c>'s ids:
    /// see <see cref="PageOfGroups"/>.)
    /// </summary>
    private static IEnumerable<string> KeysOf(IReadOnlyList<TraitFilter> filters, params string[] more)
    {
        foreach (var filter in filters)
        {
            yield return filter.Key;
        }

        foreach (var key in more)
        {
            yield return key;
        }
    }

    /// <summary>HAVING over one group's current values: for every filter a value of that key matching it.</summary>
    private static string Selection(IReadOnlyList<TraitFilter> filters)
    {
        var sql = new StringBuilder("1");
        foreach (var filter in filters)
        {
            sql.Append(CultureInfo.InvariantCulture, $"\n   AND countIf(trait_key = {String(filter.Key)} AND cl = 0 AND {Condition(filter)}) > 0");
        }

        return sql.ToString();
    }

    /// <summary>
    /// One filter's test of a current value <c>v</c> (the JSON text, never '' here).
    /// An array matches an equality operand it holds as an element (see <see cref="ArrayElements"/>): a token is an element
    /// when the running sum of its brackets up to it is one. The cheap tests come first.
    /// </summary>
    private static string Condition(TraitFilter filter)
    {
        switch (filter.Operator)
        {
            case FilterOperator.Equals:
                var operands = Strings(filter.JsonOperands);
                var contained = string.Join(" OR ", filter.JsonOperands.Select(operand => $"position(v, {String(operand)}) > 0"));
                var tokens = $"extractAll(v, {String(ArrayElements.TokenPattern)})";
                return $$"""
                    (v IN ({{operands}}) OR (substring(v, 1, 1) = '[' AND ({{contained}})
                        AND arrayExists((t, depth) -> depth = 1 AND t IN ({{operands}}),
                            {{tokens}}, arrayCumSum(arrayMap(t -> multiIf(t = '[' OR t = '{', 1, t = ']' OR t = '}', -1, 0), {{tokens}})))))
                    """;
            case FilterOperator.Prefix:
                var prefix = filter.JsonOperands[0];
                // substring counts bytes, as does the prefix's UTF-8 length.
                return $"substring(v, 1, {Number(Encoding.UTF8.GetByteCount(prefix))}) = {String(prefix)}";
            default:
                if (!double.IsFinite(filter.Number))
                {
                    return "0";
                }

                var comparison = filter.Operator switch
                {
                    FilterOperator.GreaterThan => ">",
                    FilterOperator.GreaterOrEqual => ">=",
                    FilterOperator.LessThan => "<",
                    _ => "<=",
                };
                return $"ifNull(toFloat64OrNull(v) {comparison} {Number(filter.Number)}, 0)";
        }
    }

    /// <summary>Runs a membership query answering (id, f, l) rows.</summary>
    private async Task<IReadOnlyList<MembershipRow>> ReadMembershipsAsync(string sql, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(sql, cancellationToken);
        var memberships = new List<MembershipRow>(rows.Count);
        foreach (var row in rows)
        {
            memberships.Add(new MembershipRow(Str(row, "id"), Int(row, "f"), Int(row, "l")));
        }

        return memberships;
    }

    private async Task<Dictionary<string, string>> ReadCurrentTraitsAsync(string tenant, string groupId, CancellationToken cancellationToken)
    {
        var rows = await QueryAsync($"""
            SELECT trait_key, v FROM (
                SELECT trait_key, argMaxMerge(state) AS v
                FROM {_layout.Table(ClickHouseSchema.TraitStates.Name)}
                WHERE tenant = {String(tenant)} AND group_id = {String(groupId)}
                GROUP BY trait_key
            )
            WHERE v != ''
            FORMAT JSONEachRow
            """, cancellationToken);
        var traits = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            traits.Add(Str(row, "trait_key"), Str(row, "v"));
        }

        return traits;
    }
}
