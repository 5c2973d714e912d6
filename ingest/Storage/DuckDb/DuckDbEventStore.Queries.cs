using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using Platform.Ingest.Events;
using Platform.Ingest.GroupApi;
using Platform.Ingest.Query;

namespace Platform.Ingest.Storage.DuckDb;

/// <summary>
/// The query API on DuckDB. Profiles, listings and counts read <c>current_traits</c> (one row per group and trait,
/// maintained by every insert), so their cost follows the number of groups, not the length of the history;
/// trait history reads <c>group_traits</c>. Every query filters on the tenant first.
/// </summary>
internal sealed partial class DuckDbEventStore : IGroupQueries
{
    /// <summary>
    /// Current value per (group, key) of one tenant, for the keys a query needs only ($3...) and the groups after a
    /// cursor only ($2): the aggregation then touches a fraction of the history instead of all of it.
    /// </summary>
    private static string CurrentTraits(DuckDBCommand command, IEnumerable<string> keys)
    {
        var placeholders = new List<string>();
        foreach (var key in keys.Distinct(StringComparer.Ordinal))
        {
            command.Parameters.Add(new DuckDBParameter(key));
            placeholders.Add($"${command.Parameters.Count}");
        }

        return $"""
            current AS (
                SELECT group_id, trait_key, CASE WHEN cleared THEN '' ELSE value_json END AS value_json
                FROM current_traits
                WHERE tenant = $1 AND group_id > $2 AND trait_key IN ({string.Join(", ", placeholders)})
            )
            """;
    }

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

    public Task<GroupProfile?> GetGroupAsync(string tenant, string groupId, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT count(*), epoch_us(min(first_seen)), epoch_us(max(last_seen))
            FROM memberships WHERE tenant = $1 AND group_id = $2
            """;
        command.Parameters.Add(new DuckDBParameter(tenant));
        command.Parameters.Add(new DuckDBParameter(groupId));
        long members, firstSeen, lastSeen;
        using (var reader = command.ExecuteReader())
        {
            reader.Read();
            members = reader.GetInt64(0);
            if (members == 0)
            {
                return Task.FromResult<GroupProfile?>(null);
            }

            firstSeen = reader.GetInt64(1);
            lastSeen = reader.GetInt64(2);
        }

        var traits = ReadCurrentTraits(connection, tenant, groupId);
        return Task.FromResult<GroupProfile?>(new GroupProfile(groupId, traits, members, firstSeen, lastSeen));
    }

    public Task<IReadOnlyList<MembershipRow>> GetGroupUsersAsync(string tenant, string groupId, string? afterUserId, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<MembershipRow>>(ReadMemberships($"""
            SELECT user_id, epoch_us(first_seen), epoch_us(last_seen) FROM memberships
            WHERE tenant = $1 AND group_id = $2 AND user_id > $3
            ORDER BY user_id LIMIT {limit}
            """, tenant, groupId, afterUserId ?? string.Empty));

    public Task<IReadOnlyList<MembershipRow>> GetUserGroupsAsync(string tenant, string userId, string? afterGroupId, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<MembershipRow>>(ReadMemberships($"""
            SELECT group_id, epoch_us(first_seen), epoch_us(last_seen) FROM memberships
            WHERE tenant = $1 AND user_id = $2 AND group_id > $3
            ORDER BY group_id LIMIT {limit}
            """, tenant, userId, afterGroupId ?? string.Empty));

    public Task<IReadOnlyList<GroupRow>> FindGroupsAsync(
        string tenant, IReadOnlyList<TraitFilter> filters, string? afterGroupId, int limit, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.Parameters.Add(new DuckDBParameter(tenant));
        command.Parameters.Add(new DuckDBParameter(afterGroupId ?? string.Empty));
        var current = CurrentTraits(command, KeysOf(filters, KnownTraits.GroupType));
        command.CommandText = $"""
            WITH {current},
            page AS (
                SELECT g.group_id FROM current g
                WHERE g.trait_key = 'group_type' AND g.value_json <> ''{FilterConditions(command, filters)}
                ORDER BY g.group_id LIMIT {limit}
            ),
            page_traits AS (
                SELECT group_id, trait_key, value_json FROM current_traits
                WHERE tenant = $1 AND group_id IN (SELECT group_id FROM page) AND NOT cleared
            )
            SELECT group_id, trait_key, value_json FROM page_traits
            ORDER BY group_id, trait_key
            """;
        var groups = new List<GroupRow>();
        using var reader = command.ExecuteReader();
        Dictionary<string, string>? traits = null;
        string? previous = null;
        while (reader.Read())
        {
            var groupId = reader.GetString(0);
            if (groupId != previous)
            {
                previous = groupId;
                traits = new Dictionary<string, string>(StringComparer.Ordinal);
                groups.Add(new GroupRow(groupId, traits));
            }

            traits!.Add(reader.GetString(1), reader.GetString(2));
        }

        return Task.FromResult<IReadOnlyList<GroupRow>>(groups);
    }

    public Task<TraitCounts> CountGroupsByTraitAsync(
        string tenant, string traitKey, IReadOnlyList<TraitFilter> filters, int top, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.Parameters.Add(new DuckDBParameter(tenant));
        command.Parameters.Add(new DuckDBParameter(string.Empty));
        var current = CurrentTraits(command, KeysOf(filters, KnownTraits.GroupType, traitKey));
        var conditions = FilterConditions(command, filters);
        command.Parameters.Add(new DuckDBParameter(traitKey));
        var keyParameter = command.Parameters.Count;
        command.CommandText = $"""
            WITH {current},
            selected AS (
                SELECT g.group_id FROM current g
                WHERE g.trait_key = 'group_type' AND g.value_json <> ''{conditions}
            ),
            counted AS (
                SELECT c.value_json, count(*) AS groups
                FROM current c
                WHERE c.trait_key = ${keyParameter} AND c.value_json <> '' AND c.group_id IN (SELECT group_id FROM selected)
                GROUP BY c.value_json
            )
            SELECT NULL AS value_json, CAST(coalesce(sum(groups), 0) AS BIGINT), (SELECT count(*) FROM selected), 0 AS rank FROM counted
            UNION ALL
            SELECT * FROM (SELECT value_json, groups, 0, 1 FROM counted ORDER BY groups DESC, value_json LIMIT {top})
            ORDER BY rank, 2 DESC, value_json
            """;
        var buckets = new List<TraitBucket>();
        long withValue = 0, selectedGroups = 0;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (reader.IsDBNull(0))
            {
                withValue = reader.GetInt64(1);
                selectedGroups = reader.GetInt64(2);
            }
            else
            {
                buckets.Add(new TraitBucket(reader.GetString(0), reader.GetInt64(1)));
            }
        }

        long listed = 0;
        foreach (var bucket in buckets)
        {
            listed += bucket.Groups;
        }

        return Task.FromResult(new TraitCounts(buckets, withValue - listed, selectedGroups - withValue));
    }

    public Task<IReadOnlyList<TraitChange>> GetTraitHistoryAsync(
        string tenant, string groupId, string traitKey, HistoryPosition? after, int limit, CancellationToken cancellationToken)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT value_json, cleared, epoch_us(event_time), event_id FROM group_traits
            WHERE tenant = $1 AND group_id = $2 AND trait_key = $3
              AND (event_time > make_timestamp($4) OR (event_time = make_timestamp($4) AND event_id > $5))
            ORDER BY event_time, event_id LIMIT {limit}
            """;
        command.Parameters.Add(new DuckDBParameter(tenant));
        command.Parameters.Add(new DuckDBParameter(groupId));
        command.Parameters.Add(new DuckDBParameter(traitKey));
        // Event times are never before 1970, so one microsecond before the epoch starts the listing.
        command.Parameters.Add(new DuckDBParameter(after?.TimestampMicros ?? -1L));
        command.Parameters.Add(new DuckDBParameter(after?.EventId ?? string.Empty));
        var changes = new List<TraitChange>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            changes.Add(new TraitChange(reader.GetBoolean(1) ? null : reader.GetString(0), reader.GetInt64(2), reader.GetString(3)));
        }

        return Task.FromResult<IReadOnlyList<TraitChange>>(changes);
    }

    /// <summary>
    /// One <c>AND g.group_id IN (...)</c> per filter over the current values, operands added as parameters.
    /// An array matches an equality operand it holds as an element (see <see cref="ArrayElements"/>): its tokens are folded
    /// left to right into the depth, and the fold turns -1 for good at an operand met at depth one (the array's own).
    /// The cheap tests come first: DuckDB evaluates the fold only for arrays whose text contains an operand at all.
    /// </summary>
    private static string FilterConditions(DuckDBCommand command, IReadOnlyList<TraitFilter> filters)
    {
        var sql = new StringBuilder();
        foreach (var filter in filters)
        {
            command.Parameters.Add(new DuckDBParameter(filter.Key));
            var key = command.Parameters.Count;
            string condition;
            switch (filter.Operator)
            {
                case FilterOperator.Equals:
                    var operands = new List<string>();
                    var contained = new List<string>();
                    foreach (var operand in filter.JsonOperands)
                    {
                        command.Parameters.Add(new DuckDBParameter(operand));
                        operands.Add($"${command.Parameters.Count}");
                        contained.Add($"contains(f.value_json, ${command.Parameters.Count})");
                    }

                    var list = string.Join(", ", operands);
                    condition = $$"""
                        (f.value_json IN ({{list}}) OR (starts_with(f.value_json, '[') AND ({{string.Join(" OR ", contained)}})
                            AND list_reduce(
                                list_transform(regexp_extract_all(f.value_json, '{{ArrayElements.TokenPattern}}'),
                                    t -> CASE WHEN t IN ('[', '{') THEN 1 WHEN t IN (']', '}') THEN -1 WHEN t IN ({{list}}) THEN 2 ELSE 0 END),
                                (depth, t) -> CASE WHEN depth < 0 THEN depth WHEN t = 2 THEN CASE WHEN depth = 1 THEN -1 ELSE depth END ELSE depth + t END,
                                0) = -1))
                        """;
                    break;
                case FilterOperator.Prefix:
                    command.Parameters.Add(new DuckDBParameter(filter.JsonOperands[0]));
                    condition = $"starts_with(f.value_json, ${command.Parameters.Count})";
                    break;
                default:
                    command.Parameters.Add(new DuckDBParameter(filter.Number));
                    var comparison = filter.Operator switch
                    {
                        FilterOperator.GreaterThan => ">",
                        FilterOperator.GreaterOrEqual => ">=",
                        FilterOperator.LessThan => "<",
                        _ => "<=",
                    };
                    condition = $"TRY_CAST(f.value_json AS DOUBLE) {comparison} ${command.Parameters.Count}";
                    break;
            }

            sql.Append(CultureInfo.InvariantCulture, $"""

                  AND g.group_id IN (SELECT f.group_id FROM current f WHERE f.trait_key = ${key} AND f.value_json <> '' AND {condition})
                """);
        }

        return sql.ToString();
    }

    private List<MembershipRow> ReadMemberships(string sql, string tenant, string id, string after)
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.Add(new DuckDBParameter(tenant));
        command.Parameters.Add(new DuckDBParameter(id));
        command.Parameters.Add(new DuckDBParameter(after));
        var rows = new List<MembershipRow>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(new MembershipRow(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
        }

        return rows;
    }

    private static Dictionary<string, string> ReadCurrentTraits(DuckDBConnection connection, string tenant, string groupId)
    {
        using var command = connection.CreateCommand();
        command.CommandText = DuckDbSchema.SelectCurrentTraits;
        command.Parameters.Add(new DuckDBParameter(tenant));
        command.Parameters.Add(new DuckDBParameter(groupId));
        using var reader = command.ExecuteReader();
        var traits = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            traits.Add(reader.GetString(0), reader.GetString(1));
        }

        return traits;
    }
}
