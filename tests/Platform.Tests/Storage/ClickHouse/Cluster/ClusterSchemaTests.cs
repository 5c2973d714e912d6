using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Ingest.Storage;
using Platform.Ingest.Storage.ClickHouse;
using Platform.Tests.Servers;
using static Platform.Tests.Storage.TestEvents;

namespace Platform.Tests.Storage.ClickHouse.Cluster;

/// <summary>
/// The schema on a real cluster: ingest's migrations create it ON CLUSTER through one node; a start through a node of
/// the other shard finds it applied and runs nothing again; <c>clickhouse-ddl</c>'s output applied by hand is a schema
/// ingest starts on without migrating.
/// </summary>
[Collection(ClickHouseClusterGroup.Name)]
[Trait("Category", ClickHouseClusterGroup.Category)]
public sealed class ClusterSchemaTests(ClickHouseClusterFixture fixture)
{
    /// <summary>What the latest schema leaves on every node, by name.</summary>
    private static readonly (string Name, string Engine)[] Tables =
    [
        ("events", "Distributed"),
        ("events_local", "ReplicatedReplacingMergeTree"),
        ("events_v1", "Distributed"),
        ("events_v1_local", "ReplicatedReplacingMergeTree"),
        ("group_members", "Distributed"),
        ("group_members_local", "ReplicatedAggregatingMergeTree"),
        ("group_traits", "View"),
        ("group_traits_v1", "Distributed"),
        ("group_traits_v1_local", "ReplicatedReplacingMergeTree"),
        ("schema_migrations", "ReplicatedReplacingMergeTree"),
        ("trait_changes", "Distributed"),
        ("trait_changes_local", "Null"),
        ("trait_changes_mv", "MaterializedView"),
        ("trait_states", "Distributed"),
        ("trait_states_local", "ReplicatedAggregatingMergeTree"),
        ("user_groups", "Distributed"),
        ("user_groups_local", "ReplicatedAggregatingMergeTree"),
        ("user_groups_v2_mv", "MaterializedView"),
    ];

    private ClickHouseCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Ingest_creates_the_schema_on_every_node_through_one_of_them()
    {
        using var store = await StartedStoreAsync(fixture.DefaultNode, ClickHouseFixture.NewDatabase());
        // The records reach the other nodes by replication, a moment later.
        await ClusterStorage.SyncReplicasAsync(Cluster, store.Layout.Database);

        foreach (var node in Cluster.Nodes)
        {
            Assert.Equal(Tables, await TablesAsync(node, store.Layout.Database));
            // One record table for the whole cluster: every node reads every version, whichever node recorded it.
            Assert.Equal(string.Join(",", ClickHouseSchema.Migrations.Select(m => m.Version)), await node.Endpoint.QueryAsync(
                $"SELECT arrayStringConcat(groupArray(toString(version)), ',') FROM (SELECT DISTINCT version FROM {store.Layout.Database}.schema_migrations ORDER BY version)"));
        }
    }

    [Fact]
    public async Task A_start_through_a_node_of_the_other_shard_runs_no_migration_again_and_changes_no_answer()
    {
        var database = ClickHouseFixture.NewDatabase();
        using var first = await StartedStoreAsync(fixture.DefaultNode, database);
        await first.InsertAsync([Batch("t1", Event(1, traits: [Trait("plan", "\"pro\"")]), Event(2, groupId: "beta", traits: [Trait("plan", "\"basic\"")]))], default);
        var before = (await first.CountAsync("t1", default), await first.FindGroupsAsync("t1", [], null, 10, default));

        using var second = await StartedStoreAsync(Cluster.Shards[1][0], database);

        Assert.Equal(ClickHouseSchema.Migrations.Count, await fixture.DefaultNode.Endpoint.ScalarAsync($"SELECT count() FROM {database}.schema_migrations"));
        Assert.Equal(new StoredCounts(2, 2, 2), await second.CountAsync("t1", default));
        Assert.Equal(before.Item1, await first.CountAsync("t1", default));
        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(before.Item2),
            System.Text.Json.JsonSerializer.Serialize(await second.FindGroupsAsync("t1", [], null, 10, default)));
    }

    [Fact]
    public async Task The_printed_ddl_applied_by_hand_is_a_schema_ingest_starts_on_without_migrating()
    {
        var database = ClickHouseFixture.NewDatabase();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:ClickHouse:Database"] = database,
            ["Storage:ClickHouse:Cluster"] = ClickHouseCluster.Name,
        }).Build();
        using var printed = new StringWriter();
        ClickHouseDdlCommand.Print(configuration, printed);

        // As an operator runs it: statement by statement (each ends with ";" and a blank line), through one node.
        var node = Cluster.Shards[1][0];
        foreach (var statement in printed.ToString().Split(";\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            await node.Endpoint.QueryAsync(statement, ClusterStorage.StatementSettings);
        }

        using var store = await StartedStoreAsync(fixture.DefaultNode, database);
        await store.InsertAsync([Batch("t1", Event(1, traits: [Trait("plan", "\"pro\"")]))], default);

        Assert.Equal(ClickHouseSchema.Migrations.Count, await node.Endpoint.ScalarAsync($"SELECT count() FROM {database}.schema_migrations"));
        foreach (var each in Cluster.Nodes)
        {
            Assert.Equal(Tables, await TablesAsync(each, database));
        }

        Assert.Equal(new StoredCounts(1, 1, 1), await store.CountAsync("t1", default));
    }

    private static async Task<ClickHouseEventStore> StartedStoreAsync(ClickHouseServer via, string database)
    {
        var store = new ClickHouseEventStore(ClusterStorage.Options(via, database), NullLogger<ClickHouseEventStore>.Instance);
        await store.InitializeAsync(default);
        return store;
    }

    private static async Task<(string Name, string Engine)[]> TablesAsync(ClickHouseServer node, string database) =>
        [.. (await ClusterStorage.RowsAsync(node, $"SELECT name, engine FROM system.tables WHERE database = '{database}' ORDER BY name FORMAT JSONEachRow"))
            .Select(row => (row.GetProperty("name").GetString()!, row.GetProperty("engine").GetString()!))];
}
