using System.Globalization;
using System.Text;

namespace Platform.Ingest.Storage.ClickHouse;

/// <summary>
/// Where the tables live: one server (<see cref="Cluster"/> null), or a cluster where each table is a Replicated
/// table on every node (<c>name_local</c>) behind a Distributed table (<c>name</c>) sharded by
/// <c>cityHash64(tenant, group_id)</c>. Queries and inserts always name the Distributed (or only) table.
/// </summary>
internal sealed record ClickHouseLayout(string Database, string? Cluster, string ReplicationPath = "/clickhouse/tables/{shard}")
{
    public bool IsCluster => Cluster is not null;

    /// <summary>The table that queries and inserts use.</summary>
    public string Table(string name) => ClickHouseSql.Identifier(Database) + "." + ClickHouseSql.Identifier(name);

    /// <summary>The table that holds the rows: the same table on one server, the node's Replicated table on a cluster.</summary>
    public string Storage(string name) => IsCluster ? Table(name + "_local") : Table(name);

    public string OnCluster => IsCluster ? " ON CLUSTER " + ClickHouseSql.Identifier(Cluster!) : string.Empty;

    /// <summary>
    /// IN over a subquery of a Distributed table must be GLOBAL (18.16 refuses double-distributed IN by default); the
    /// subquery then runs once and its result is sent to every shard.
    /// </summary>
    public string In => IsCluster ? "GLOBAL IN" : "IN";
}

/// <summary>One table: its columns and its MergeTree engine, rendered for either layout.</summary>
internal sealed record ClickHouseTable(string Name, string Columns, string Engine, string? Version, string? PartitionBy, string OrderBy)
{
    /// <summary>Every table is sharded alike, so an event, its trait rows and its memberships live on one shard and dedup there.</summary>
    public const string ShardingKey = "cityHash64(tenant, group_id)";

    public IEnumerable<string> Create(ClickHouseLayout layout)
    {
        var engine = layout.IsCluster
            ? $"Replicated{Engine}({Quote($"{layout.ReplicationPath}/{layout.Database}/{Name}_local")}, '{{replica}}'{(Version is null ? "" : ", " + Version)})"
            : $"{Engine}({Version})";
        var body = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"CREATE TABLE IF NOT EXISTS {layout.Storage(Name)}{layout.OnCluster} (\n{Columns}\n)\nENGINE = {engine}\n");
        if (PartitionBy is not null)
        {
            body.Append(CultureInfo.InvariantCulture, $"PARTITION BY {PartitionBy}\n");
        }

        body.Append(CultureInfo.InvariantCulture, $"ORDER BY ({OrderBy})");
        yield return body.ToString();

        if (layout.IsCluster)
        {
            yield return $"CREATE TABLE IF NOT EXISTS {layout.Table(Name)}{layout.OnCluster} AS {layout.Storage(Name)}\n" +
                $"ENGINE = Distributed({ClickHouseSql.Identifier(layout.Cluster!)}, {ClickHouseSql.Identifier(layout.Database)}, {ClickHouseSql.Identifier(Name + "_local")}, {ShardingKey})";
        }
    }

    private static string Quote(string path) => ClickHouseSql.String(path);
}

/// <summary>A materialized view feeding one table from another, on each node's own rows in a cluster.</summary>
internal sealed record ClickHouseView(string Name, string Target, string Source, string Select)
{
    public string Create(ClickHouseLayout layout) =>
        $"CREATE MATERIALIZED VIEW IF NOT EXISTS {layout.Table(Name)}{layout.OnCluster} TO {layout.Storage(Target)} AS\n" +
        Select.Replace("{source}", layout.Storage(Source), StringComparison.Ordinal);
}

/// <summary>A schema version: statements that are each idempotent (IF NOT EXISTS), so a crash mid-way is repaired by the next start.</summary>
internal sealed record ClickHouseMigration(int Version, string Description, Func<ClickHouseLayout, IEnumerable<string>> Statements);

/// <summary>
/// The ClickHouse schema, for ClickHouse 18.16 and later. Duplicates are collapsed by the table engines and never
/// counted by the reads:
/// <list type="bullet">
/// <item><c>events</c>: ReplacingMergeTree keyed (tenant, event_id); a stored duplicate is the same key and merges away.
/// Reads count <c>uniqExact(event_id)</c>, so a duplicate not yet merged never counts twice.</item>
/// <item><c>group_traits</c>: one row per trait per event, ReplacingMergeTree(event_us) keyed (tenant, group_id,
/// trait_key, event_id). The current value is <c>argMax((value_json, cleared), (event_us, event_id))</c>: the value is
/// never NULL (a clear is '' with cleared = 1), because aggregates skip NULLs and a clear would lose to an older value.
/// A duplicate row is identical to its twin, so it cannot change an argMax; history groups by event id.</item>
/// <item><c>group_members</c> / <c>user_groups</c>: AggregatingMergeTree of minState/maxState of the event time, fed by
/// materialized views from <c>events</c>, ordered for "users of a group" and "groups of a user". Min and max are
/// idempotent, so duplicates cost nothing.</item>
/// </list>
/// Times are microseconds since the Unix epoch in UInt64 (no DateTime64 on 18.16). Tables are partitioned by the month of
/// the event time: an event and its duplicates share the event time, hence the partition in which they merge.
/// Never edit a released migration: append one.
/// </summary>
internal static class ClickHouseSchema
{
    private const string MonthOfEvent = "toYYYYMM(toDateTime(intDiv(event_us, 1000000)))";

    public static readonly ClickHouseTable Events = new("events", """
            tenant       String,
            event_id     String,
            message_id   Nullable(String),
            group_id     String,
            user_id      String,
            event_us     UInt64,
            group_type   String,
            traits_json  String,
            context_json Nullable(String),
            received_us  UInt64
        """, "ReplacingMergeTree", Version: null, MonthOfEvent, "tenant, event_id");

    public static readonly ClickHouseTable GroupTraits = new("group_traits", """
            tenant     String,
            group_id   String,
            trait_key  String,
            event_us   UInt64,
            event_id   String,
            value_json String,
            cleared    UInt8
        """, "ReplacingMergeTree", Version: "event_us", MonthOfEvent, "tenant, group_id, trait_key, event_id");

    public static readonly ClickHouseTable GroupMembers = new("group_members", """
            tenant     String,
            group_id   String,
            user_id    String,
            first_seen AggregateFunction(min, UInt64),
            last_seen  AggregateFunction(max, UInt64)
        """, "AggregatingMergeTree", Version: null, PartitionBy: null, "tenant, group_id, user_id");

    public static readonly ClickHouseTable UserGroups = GroupMembers with { Name = "user_groups", OrderBy = "tenant, user_id, group_id" };

    private const string MembershipSelect = """
        SELECT tenant, group_id, user_id, minState(event_us) AS first_seen, maxState(event_us) AS last_seen
        FROM {source}
        GROUP BY tenant, group_id, user_id
        """;

    public static readonly ClickHouseView GroupMembersView = new("group_members_mv", "group_members", "events", MembershipSelect);

    public static readonly ClickHouseView UserGroupsView = new("user_groups_mv", "user_groups", "events", MembershipSelect);

    public static IReadOnlyList<ClickHouseMigration> Migrations { get; } =
    [
        new(1, "events, group_traits, group_members and user_groups with their views", static layout =>
            Events.Create(layout)
                .Concat(GroupTraits.Create(layout))
                .Concat(GroupMembers.Create(layout))
                .Concat(UserGroups.Create(layout))
                .Append(GroupMembersView.Create(layout))
                .Append(UserGroupsView.Create(layout))),
    ];

    public static int LatestVersion => Migrations[^1].Version;

    public static string CreateDatabase(ClickHouseLayout layout) =>
        $"CREATE DATABASE IF NOT EXISTS {ClickHouseSql.Identifier(layout.Database)}{layout.OnCluster}";

    /// <summary>Applied versions; on a cluster one replicated table shared by every node (its path has no shard).</summary>
    public static string CreateMigrationsTable(ClickHouseLayout layout)
    {
        var engine = layout.IsCluster
            ? $"ReplicatedReplacingMergeTree({ClickHouseSql.String($"{layout.ReplicationPath.Replace("{shard}", "all", StringComparison.Ordinal)}/{layout.Database}/schema_migrations")}, '{{replica}}')"
            : "ReplacingMergeTree()";
        return $"""
            CREATE TABLE IF NOT EXISTS {layout.Table("schema_migrations")}{layout.OnCluster} (
                version     UInt32,
                description String,
                applied_at  DateTime
            )
            ENGINE = {engine}
            ORDER BY version
            """;
    }

    public static string SelectAppliedVersions(ClickHouseLayout layout) =>
        $"SELECT DISTINCT version FROM {layout.Table("schema_migrations")} ORDER BY version FORMAT JSONEachRow";

    public static string RecordMigration(ClickHouseLayout layout, ClickHouseMigration migration) =>
        $"INSERT INTO {layout.Table("schema_migrations")} (version, description, applied_at) VALUES " +
        $"({ClickHouseSql.Number(migration.Version)}, {ClickHouseSql.String(migration.Description)}, now())";

    /// <summary>The whole schema as DDL, in order: what an operator runs by hand or reviews before a start.</summary>
    public static IEnumerable<string> AllStatements(ClickHouseLayout layout)
    {
        yield return CreateDatabase(layout);
        yield return CreateMigrationsTable(layout);
        foreach (var migration in Migrations)
        {
            foreach (var statement in migration.Statements(layout))
            {
                yield return statement;
            }

            yield return RecordMigration(layout, migration);
        }
    }
}
