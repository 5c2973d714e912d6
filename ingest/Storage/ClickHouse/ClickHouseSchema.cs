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

    /// <summary>
    /// The last element of the replication path on a cluster; <c>name_local</c> unless set. A table that takes the name of
    /// a renamed one needs a path of its own: a renamed Replicated table keeps its path.
    /// </summary>
    public string? ReplicaPathName { get; init; }

    /// <summary>A <c>SETTINGS</c> clause, e.g. a finer <c>index_granularity</c> for a table read by key ranges.</summary>
    public string? Settings { get; init; }

    /// <summary>A table that stores nothing (<c>ENGINE = Null</c>): its inserts only feed the views reading it.</summary>
    public bool StoresNothing => Engine == "Null";

    public IEnumerable<string> Create(ClickHouseLayout layout)
    {
        if (StoresNothing)
        {
            // On a cluster each node's Null table feeds its own views; the Distributed table in front routes rows by shard.
            yield return $"CREATE TABLE IF NOT EXISTS {layout.Storage(Name)}{layout.OnCluster} (\n{Columns}\n)\nENGINE = Null";
            if (layout.IsCluster)
            {
                yield return CreateDistributed(layout);
            }

            yield break;
        }

        var engine = layout.IsCluster
            ? $"Replicated{Engine}({Quote($"{layout.ReplicationPath}/{layout.Database}/{ReplicaPathName ?? Name + "_local"}")}, '{{replica}}'{(Version is null ? "" : ", " + Version)})"
            : $"{Engine}({Version})";
        var body = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"CREATE TABLE IF NOT EXISTS {layout.Storage(Name)}{layout.OnCluster} (\n{Columns}\n)\nENGINE = {engine}\n");
        if (PartitionBy is not null)
        {
            body.Append(CultureInfo.InvariantCulture, $"PARTITION BY {PartitionBy}\n");
        }

        body.Append(CultureInfo.InvariantCulture, $"ORDER BY ({OrderBy})");
        if (Settings is not null)
        {
            body.Append(CultureInfo.InvariantCulture, $"\nSETTINGS {Settings}");
        }

        yield return body.ToString();

        if (layout.IsCluster)
        {
            yield return CreateDistributed(layout);
        }
    }

    /// <summary>On a cluster, the Distributed table in front of the node's <c>name_local</c>.</summary>
    public string CreateDistributed(ClickHouseLayout layout) =>
        $"CREATE TABLE IF NOT EXISTS {layout.Table(Name)}{layout.OnCluster} AS {layout.Storage(Name)}\n" +
        $"ENGINE = Distributed({ClickHouseSql.Identifier(layout.Cluster!)}, {ClickHouseSql.Identifier(layout.Database)}, {ClickHouseSql.Identifier(Name + "_local")}, {ShardingKey})";

    private static string Quote(string path) => ClickHouseSql.String(path);
}

/// <summary>A materialized view feeding one table from another, on each node's own rows in a cluster.</summary>
internal sealed record ClickHouseView(string Name, string Target, string Source, string Select)
{
    public string Create(ClickHouseLayout layout) =>
        $"CREATE MATERIALIZED VIEW IF NOT EXISTS {layout.Table(Name)}{layout.OnCluster} TO {layout.Storage(Target)} AS\n" +
        Select.Replace("{source}", layout.Storage(Source), StringComparison.Ordinal);
}

/// <summary>
/// One statement of a migration. A statement that cannot say IF [NOT] EXISTS (RENAME) carries a condition: a query that
/// answers 1 when the statement is still to run (<c>SELECT … AS yes</c>), so a start that died half-way re-runs only what
/// is left. A condition is true on a database that has just run the migrations before it, which is what
/// <c>clickhouse-ddl</c> prints for.
/// </summary>
internal sealed record ClickHouseStep(string Sql, string? OnlyIf = null)
{
    public static implicit operator ClickHouseStep(string sql) => new(sql);

    public static ClickHouseStep FromString(string sql) => new(sql);
}

/// <summary>A schema version: steps that are each idempotent (IF NOT EXISTS, or guarded), so a crash mid-way is repaired by the next start.</summary>
internal sealed record ClickHouseMigration(int Version, string Description, Func<ClickHouseLayout, IEnumerable<ClickHouseStep>> Steps);

/// <summary>
/// The ClickHouse schema, for ClickHouse 18.16 and later. Since version 2 one ingest batch is one insert into one table,
/// <c>events</c>, and materialized views fan it out; duplicates are collapsed by the engines and never counted by reads:
/// <list type="bullet">
/// <item><c>events</c>: one row per event with its traits as parallel arrays (<c>trait_keys</c>, <c>trait_values</c>;
/// a clear is ''), ReplacingMergeTree keyed (tenant, group_id, event_id); a stored duplicate is the same key and merges
/// away. Reads count <c>uniqExact(event_id)</c> and group history by event, so a duplicate not yet merged never counts.</item>
/// <item><c>trait_states</c> (version 4; version 3 had <c>current_traits_by_key</c>, version 2 <c>current_traits</c>, sorted by group):
/// AggregatingMergeTree keyed (tenant, trait_key, group_id) of <c>argMaxState(value, version)</c>, the version being
/// text in (event_us, event_id) order; since version 5 fed through <c>trait_changes</c> (a Null table and its view) with
/// the shipper's latest change per key, before that by a view of <c>events</c> with <c>ARRAY JOIN</c>. A clear is a value like any other (''), so
/// it wins when it is latest and is never skipped. A duplicate adds an identical (value, version) pair, which cannot
/// change a maximum. Profiles, listings, filters and counts read it; a filter or count reads only its keys' ranges.</item>
/// <item><c>user_groups</c>: AggregatingMergeTree of minState/maxState of the event time keyed (tenant, user_id, group_id),
/// fed by a view from <c>events</c>; "users of a group" reads <c>events</c> itself (its key starts with the group).
/// Min and max are idempotent, so duplicates cost nothing.</item>
/// <item><c>group_traits</c>: a plain view of one row per trait per event, for readers of version 1's shape.</item>
/// </list>
/// Version 1's tables stay as <c>events_v1</c>, <c>group_traits_v1</c> and <c>group_members</c>, no longer written.
/// Times are microseconds since the Unix epoch in UInt64 (no DateTime64 on 18.16). <c>events</c> is partitioned by the
/// month of the event time: an event and its duplicates share the event time, hence the partition in which they merge.
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

    /// <summary>
    /// Version 2's <c>events</c>: one row per event, its traits as two parallel arrays (a clear is the value '', which no
    /// JSON text is). The sort key starts with the group, so one group's history and members are a range of the key; a
    /// stored duplicate has the same key and merges away. Its replication path is new (the old table keeps the old one).
    /// </summary>
    public static readonly ClickHouseTable EventsV2 = new("events", """
            tenant       String,
            event_id     String,
            message_id   Nullable(String),
            group_id     String,
            user_id      String,
            event_us     UInt64,
            group_type   String,
            trait_keys   Array(String),
            trait_values Array(String),
            context_json Nullable(String),
            received_us  UInt64
        """, "ReplacingMergeTree", Version: null, MonthOfEvent, "tenant, group_id, event_id") { ReplicaPathName = "events_v2_local" };

    /// <summary>
    /// The current value of every trait of every group: <c>argMaxState(value, version)</c> where the version is the text
    /// <c>toString(event_us + 10^19)</c> (always 20 digits) followed by the event id, so text order is (event_us, event_id)
    /// order and ties go to the greater id. A clear is the value ''. A duplicate event adds the same (value, version)
    /// pair, which cannot change a maximum. Not partitioned: a current value spans all time.
    /// </summary>
    public static readonly ClickHouseTable CurrentTraits = new("current_traits", """
            tenant    String,
            group_id  String,
            trait_key String,
            state     AggregateFunction(argMax, String, String)
        """, "AggregatingMergeTree", Version: null, PartitionBy: null, "tenant, group_id, trait_key");

    /// <summary>The text whose order is (event_us, event_id) order, for <see cref="CurrentTraits"/>.</summary>
    public const string VersionText = "concat(toString(event_us + 10000000000000000000), event_id)";

    public static readonly ClickHouseView CurrentTraitsView = new("current_traits_mv", "current_traits", "events", $$"""
        SELECT tenant, group_id, trait_key, argMaxState(trait_value, {{VersionText}}) AS state
        FROM {source}
        ARRAY JOIN trait_keys AS trait_key, trait_values AS trait_value
        GROUP BY tenant, group_id, trait_key
        """);

    /// <summary>
    /// Version 3's current state: the same <c>argMaxState(value, version)</c> per (tenant, group, trait) as
    /// <see cref="CurrentTraits"/>, sorted by trait key first. A filter or a count reads the ranges of the keys it names
    /// (two of a tenant's twenty keys, say) instead of every trait of every group; one group's traits, or a page of
    /// groups, are found through the primary index within each key's range, which the finer granularity keeps cheap.
    /// </summary>
    public static readonly ClickHouseTable CurrentTraitsByKey = new("current_traits_by_key", """
            tenant    String,
            trait_key String,
            group_id  String,
            state     AggregateFunction(argMax, String, String)
        """, "AggregatingMergeTree", Version: null, PartitionBy: null, "tenant, trait_key, group_id") { Settings = "index_granularity = 1024" };

    public static readonly ClickHouseView CurrentTraitsByKeyView = new("current_traits_by_key_mv", "current_traits_by_key", "events", $$"""
        SELECT tenant, trait_key, group_id, argMaxState(trait_value, {{VersionText}}) AS state
        FROM {source}
        ARRAY JOIN trait_keys AS trait_key, trait_values AS trait_value
        GROUP BY tenant, trait_key, group_id
        """);

    /// <summary>
    /// Version 4's current state: <see cref="CurrentTraitsByKey"/>'s rows and order with 256-row granules instead of
    /// 1,024. Listings and counts read whole key ranges, which the granule size does not change; a profile, or the
    /// fill of a listing's page, reads one group (or a short run of groups) in every key's range, at least a granule
    /// per key and part: a quarter of the rows with the finer granules. The index grows to one mark per 256 rows, a few
    /// kilobytes per million states. (18.16 cannot change a table's granularity in place, hence a new table.)
    /// </summary>
    public static readonly ClickHouseTable TraitStates = CurrentTraitsByKey with { Name = "trait_states", Settings = "index_granularity = 256" };

    public static readonly ClickHouseView TraitStatesView = CurrentTraitsByKeyView with { Name = "trait_states_mv", Target = "trait_states" };

    /// <summary>
    /// Version 5: the current state's changes as the shipper sends them, the latest change per (tenant, trait, group)
    /// over many blocks (<see cref="PendingTraitStates"/>), with their version text. Nothing is stored here: the view
    /// folds the rows into <see cref="TraitStates"/>, whose argMax takes the same maximum it took over every event.
    /// </summary>
    public static readonly ClickHouseTable TraitChanges = new("trait_changes", """
            tenant    String,
            trait_key String,
            group_id  String,
            value     String,
            version   String
        """, "Null", Version: null, PartitionBy: null, OrderBy: "");

    public static readonly ClickHouseView TraitChangesView = new("trait_changes_mv", "trait_states", "trait_changes", """
        SELECT tenant, trait_key, group_id, argMaxState(value, version) AS state
        FROM {source}
        GROUP BY tenant, trait_key, group_id
        """);

    /// <summary>
    /// Migration 5: <c>trait_states</c> is fed by the shipper's flushes instead of by a view over every insert into
    /// <c>events</c>. The new table and view come first, then the old view goes; existing states stay as they are.
    /// An ingest of an older build still running after this feeds <c>events</c> only: its events' current traits
    /// reach <c>trait_states</c> when the group next changes (docs/decisions.md says how to rebuild them).
    /// </summary>
    private static IEnumerable<ClickHouseStep> StateFromShipper(ClickHouseLayout layout)
    {
        foreach (var statement in TraitChanges.Create(layout))
        {
            yield return statement;
        }

        yield return TraitChangesView.Create(layout);
        yield return $"DROP TABLE IF EXISTS {layout.Table(TraitStatesView.Name)}{layout.OnCluster}";
    }

    /// <summary>
    /// Migrations 3 and 4 move the current state into a new table: the new table and its view first, so that from then
    /// on every insert feeds both (another ingest still running the old build included); then the old table's states
    /// are copied over and the old view and table dropped. An argMax state merged with itself is unchanged, so a state
    /// fed twice (by both views, or by a copy re-run after a crash) changes nothing. The copy runs only while the old
    /// table exists, so a start that died after the drop does not look for it.
    /// </summary>
    private static IEnumerable<ClickHouseStep> MoveCurrentState(
        ClickHouseLayout layout, ClickHouseTable from, ClickHouseView fromView, ClickHouseTable to, ClickHouseView toView)
    {
        var database = ClickHouseSql.String(layout.Database);
        var old = ClickHouseSql.String(layout.IsCluster ? from.Name + "_local" : from.Name);
        foreach (var statement in to.Create(layout))
        {
            yield return statement;
        }

        yield return toView.Create(layout);
        yield return new($"""
            INSERT INTO {layout.Table(to.Name)} (tenant, trait_key, group_id, state)
            SELECT tenant, trait_key, group_id, state FROM {layout.Table(from.Name)}
            """, $"SELECT (SELECT count() FROM system.tables WHERE database = {database} AND name = {old}) = 1 AS yes");
        yield return $"DROP TABLE IF EXISTS {layout.Table(fromView.Name)}{layout.OnCluster}";
        if (layout.IsCluster)
        {
            yield return $"DROP TABLE IF EXISTS {layout.Table(from.Name)}{layout.OnCluster}";
        }

        yield return $"DROP TABLE IF EXISTS {layout.Storage(from.Name)}{layout.OnCluster}";
    }

    /// <summary>Version 2 feeds <c>user_groups</c> from the new events (a view of a new name: the old one is dropped).</summary>
    public static readonly ClickHouseView UserGroupsFromEventsView = new("user_groups_v2_mv", "user_groups", "events", MembershipSelect);

    /// <summary>
    /// Migration 2. The old views are dropped, the old tables renamed <c>events_v1</c> / <c>group_traits_v1</c> (kept:
    /// an operator drops them once satisfied), the new tables and views created, and the old rows copied into the new
    /// <c>events</c>, whose views fill <c>current_traits</c> and <c>user_groups</c> (which keeps its rows: min/max
    /// cannot count a copy twice). A copy re-run after a crash only adds duplicates, which every read already ignores.
    /// <c>group_traits</c> becomes a plain view (no storage) of the trait rows, for readers of the old shape.
    /// </summary>
    private static IEnumerable<ClickHouseStep> OneRowPerEvent(ClickHouseLayout layout)
    {
        var database = ClickHouseSql.String(layout.Database);
        string Storage(string name) => ClickHouseSql.String(layout.IsCluster ? name + "_local" : name);
        var oldEvents =
            $"SELECT (SELECT count() FROM system.tables WHERE database = {database} AND name = {Storage("events")}) = 1 AND " +
            $"(SELECT count() FROM system.columns WHERE database = {database} AND table = {Storage("events")} AND name = 'trait_keys') = 0 AS yes";
        var oldTraits =
            $"SELECT (SELECT count() FROM system.tables WHERE database = {database} AND name = {Storage("group_traits")} AND engine LIKE '%MergeTree') = 1 AS yes";

        yield return $"DROP TABLE IF EXISTS {layout.Table(GroupMembersView.Name)}{layout.OnCluster}";
        yield return $"DROP TABLE IF EXISTS {layout.Table(UserGroupsView.Name)}{layout.OnCluster}";
        if (layout.IsCluster)
        {
            // The Distributed tables name their local table, which is about to be a different one.
            yield return new($"DROP TABLE IF EXISTS {layout.Table("events")}{layout.OnCluster}", oldEvents);
        }

        yield return new($"RENAME TABLE {layout.Storage("events")} TO {layout.Storage("events_v1")}{layout.OnCluster}", oldEvents);
        if (layout.IsCluster)
        {
            yield return new($"DROP TABLE IF EXISTS {layout.Table("group_traits")}{layout.OnCluster}", oldTraits);
        }

        yield return new($"RENAME TABLE {layout.Storage("group_traits")} TO {layout.Storage("group_traits_v1")}{layout.OnCluster}", oldTraits);
        if (layout.IsCluster)
        {
            yield return (Events with { Name = "events_v1" }).CreateDistributed(layout);
            yield return (GroupTraits with { Name = "group_traits_v1" }).CreateDistributed(layout);
        }

        foreach (var statement in EventsV2.Create(layout).Concat(CurrentTraits.Create(layout)))
        {
            yield return statement;
        }

        yield return CurrentTraitsView.Create(layout);
        yield return UserGroupsFromEventsView.Create(layout);
        yield return $"""
            CREATE VIEW IF NOT EXISTS {layout.Table("group_traits")}{layout.OnCluster} AS
            SELECT tenant, group_id, trait_key, event_us, event_id, trait_value AS value_json, toUInt8(trait_value = '') AS cleared
            FROM {layout.Table("events")}
            ARRAY JOIN trait_keys AS trait_key, trait_values AS trait_value
            """;

        // Distinct trait rows per event first: the old table may still hold a duplicate row not yet merged.
        var join = layout.IsCluster ? "GLOBAL ANY LEFT JOIN" : "ANY LEFT JOIN";
        yield return new($"""
            INSERT INTO {layout.Table("events")} (tenant, event_id, message_id, group_id, user_id, event_us, group_type, trait_keys, trait_values, context_json, received_us)
            SELECT tenant, event_id, message_id, group_id, user_id, event_us, group_type, trait_keys, trait_values, context_json, received_us
            FROM {layout.Table("events_v1")}
            {join} (
                SELECT tenant, event_id, groupArray(tk) AS trait_keys, groupArray(tv) AS trait_values FROM (
                    SELECT tenant, event_id, trait_key AS tk, any(value_json) AS tv
                    FROM {layout.Table("group_traits_v1")}
                    GROUP BY tenant, event_id, trait_key
                )
                GROUP BY tenant, event_id
            ) USING (tenant, event_id)
            """, $"SELECT (SELECT count() FROM system.tables WHERE database = {database} AND name = {Storage("events_v1")}) = 1 AS yes");
    }

    public static IReadOnlyList<ClickHouseMigration> Migrations { get; } =
    [
        new(1, "events, group_traits, group_members and user_groups with their views", static layout =>
            Events.Create(layout)
                .Concat(GroupTraits.Create(layout))
                .Concat(GroupMembers.Create(layout))
                .Concat(UserGroups.Create(layout))
                .Append(GroupMembersView.Create(layout))
                .Append(UserGroupsView.Create(layout))
                .Select(ClickHouseStep.FromString)),
        new(2, "one row per event with its traits as arrays, current_traits fed by a view, user_groups fed from the new events; old tables kept as *_v1", OneRowPerEvent),
        new(3, "current state sorted by trait key (current_traits_by_key), filled from current_traits, which is dropped",
            static layout => MoveCurrentState(layout, CurrentTraits, CurrentTraitsView, CurrentTraitsByKey, CurrentTraitsByKeyView)),
        new(4, "current state in 256-row granules (trait_states), filled from current_traits_by_key, which is dropped",
            static layout => MoveCurrentState(layout, CurrentTraitsByKey, CurrentTraitsByKeyView, TraitStates, TraitStatesView)),
        new(5, "trait_states fed from trait_changes (the shipper's latest change per key over many blocks) instead of a view of every insert into events",
            StateFromShipper),
    ];

    public static int LatestVersion => Migrations[^1].Version;

    /// <summary>The version from which the shipper's state changes feed <c>trait_states</c> (no view of <c>events</c> does).</summary>
    public const int StatesFromShipperVersion = 5;

    public static string CreateDatabase(ClickHouseLayout layout) =>
        $"CREATE DATABASE IF NOT EXISTS {ClickHouseSql.Identifier(layout.Database)}{layout.OnCluster}";

    /// <summary>
    /// Applied versions; on a cluster one replicated table shared by every node (its path has no shard), so a start
    /// through any node sees what a start through another applied. Its replica name carries the shard: replicas of
    /// different shards are often named alike (<c>replica1</c> in each), and one table may not have two replicas of one name.
    /// </summary>
    public static string CreateMigrationsTable(ClickHouseLayout layout)
    {
        var engine = layout.IsCluster
            ? $"ReplicatedReplacingMergeTree({ClickHouseSql.String($"{layout.ReplicationPath.Replace("{shard}", "all", StringComparison.Ordinal)}/{layout.Database}/schema_migrations")}, '{{shard}}-{{replica}}')"
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
            foreach (var step in migration.Steps(layout))
            {
                yield return step.Sql;
            }

            yield return RecordMigration(layout, migration);
        }
    }
}
