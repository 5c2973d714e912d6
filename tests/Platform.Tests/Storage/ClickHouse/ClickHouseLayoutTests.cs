using Microsoft.Extensions.Configuration;
using Platform.Ingest.Storage.ClickHouse;

namespace Platform.Tests.Storage.ClickHouse;

/// <summary>The DDL of both layouts, as text (a cluster needs ZooKeeper, which no test machine has).</summary>
public sealed class ClickHouseLayoutTests
{
    private static readonly ClickHouseLayout Single = new("platform", null);
    private static readonly ClickHouseLayout Cluster = new("analytics", "events_cluster");

    private static string[] Ddl(ClickHouseLayout layout) => [.. ClickHouseSchema.AllStatements(layout)];

    [Fact]
    public void One_server_gets_plain_merge_trees_without_on_cluster_or_distributed_tables()
    {
        var ddl = Ddl(Single);

        Assert.All(ddl, statement => Assert.DoesNotContain("ON CLUSTER", statement, StringComparison.Ordinal));
        Assert.All(ddl, statement => Assert.DoesNotContain("Replicated", statement, StringComparison.Ordinal));
        Assert.All(ddl, statement => Assert.DoesNotContain("Distributed", statement, StringComparison.Ordinal));
        Assert.Contains(ddl, s => s.StartsWith("CREATE TABLE IF NOT EXISTS `platform`.`events` (", StringComparison.Ordinal)
            && s.Contains("ENGINE = ReplacingMergeTree()", StringComparison.Ordinal) && s.EndsWith("ORDER BY (tenant, event_id)", StringComparison.Ordinal));
        Assert.Contains(ddl, s => s.StartsWith("CREATE TABLE IF NOT EXISTS `platform`.`group_traits` (", StringComparison.Ordinal)
            && s.Contains("ENGINE = ReplacingMergeTree(event_us)", StringComparison.Ordinal)
            && s.EndsWith("ORDER BY (tenant, group_id, trait_key, event_id)", StringComparison.Ordinal));
        Assert.Contains(ddl, s => s.StartsWith("CREATE MATERIALIZED VIEW IF NOT EXISTS `platform`.`group_members_mv` TO `platform`.`group_members` AS", StringComparison.Ordinal)
            && s.Contains("FROM `platform`.`events`\n", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_cluster_statement_runs_on_the_cluster_except_the_migration_records()
    {
        var ddl = Ddl(Cluster);

        Assert.All(
            ddl.Where(s => !s.StartsWith("INSERT", StringComparison.Ordinal)),
            statement => Assert.Contains(" ON CLUSTER `events_cluster`", statement, StringComparison.Ordinal));
        Assert.Equal("CREATE DATABASE IF NOT EXISTS `analytics` ON CLUSTER `events_cluster`", ddl[0]);
    }

    [Theory]
    [InlineData("events", "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/events_local', '{replica}')")]
    [InlineData("group_traits", "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/group_traits_local', '{replica}', event_us)")]
    [InlineData("group_members", "ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/analytics/group_members_local', '{replica}')")]
    [InlineData("user_groups", "ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/analytics/user_groups_local', '{replica}')")]
    public void Each_table_is_replicated_per_shard_behind_a_distributed_table_sharded_by_tenant_and_group(string table, string engine)
    {
        var ddl = Ddl(Cluster);

        Assert.Contains(ddl, s => s.StartsWith($"CREATE TABLE IF NOT EXISTS `analytics`.`{table}_local` ON CLUSTER `events_cluster` (", StringComparison.Ordinal)
            && s.Contains($"ENGINE = {engine}\n", StringComparison.Ordinal));
        Assert.Contains(
            $"CREATE TABLE IF NOT EXISTS `analytics`.`{table}` ON CLUSTER `events_cluster` AS `analytics`.`{table}_local`\n" +
            $"ENGINE = Distributed(`events_cluster`, `analytics`, `{table}_local`, cityHash64(tenant, group_id))",
            ddl);
    }

    [Fact]
    public void Views_read_and_write_each_nodes_local_tables()
    {
        var ddl = Ddl(Cluster);

        Assert.Contains(ddl, s => s.StartsWith(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS `analytics`.`user_groups_mv` ON CLUSTER `events_cluster` TO `analytics`.`user_groups_local` AS", StringComparison.Ordinal)
            && s.Contains("FROM `analytics`.`events_local`\n", StringComparison.Ordinal));
    }

    [Fact]
    public void Migration_records_are_one_table_shared_by_every_shard()
    {
        var ddl = Ddl(Cluster);

        Assert.Contains(ddl, s => s.Contains("ReplicatedReplacingMergeTree('/clickhouse/tables/all/analytics/schema_migrations', '{replica}')", StringComparison.Ordinal));
    }

    [Fact]
    public void The_replication_path_comes_from_configuration()
    {
        var ddl = Ddl(Cluster with { ReplicationPath = "/ch/{layer}-{shard}" });

        Assert.Contains(ddl, s => s.Contains("('/ch/{layer}-{shard}/analytics/events_local', '{replica}')", StringComparison.Ordinal));
    }

    [Fact]
    public void Subqueries_of_distributed_tables_use_global_in()
    {
        Assert.Equal("IN", Single.In);
        Assert.Equal("GLOBAL IN", Cluster.In);
    }

    [Fact]
    public void The_ddl_command_prints_the_configured_layout()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:ClickHouse:Database"] = "analytics", ["Storage:ClickHouse:Cluster"] = "events_cluster" })
            .Build();
        using var output = new StringWriter();

        ClickHouseDdlCommand.Print(configuration, output);

        Assert.Equal(string.Join("", Ddl(Cluster).Select(s => s + ";" + Environment.NewLine + Environment.NewLine)), output.ToString());
    }
}
