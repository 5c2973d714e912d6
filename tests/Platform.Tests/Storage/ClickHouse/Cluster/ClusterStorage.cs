using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Platform.Ingest.Storage.ClickHouse;
using Platform.Tests.Integration;
using Platform.Tests.Servers;

namespace Platform.Tests.Storage.ClickHouse.Cluster;

/// <summary>Ingest and the store on a <see cref="ClickHouseCluster"/>, and what the tests read from each node's own tables.</summary>
internal static class ClusterStorage
{
    /// <summary>The settings ingest sends on a cluster, as URL parameters for the tests' own statements through a Distributed table.</summary>
    public static string StatementSettings { get; } =
        string.Join("&", ClickHouseEventStore.ClusterSettings.Select(s => $"{s.Key}={Uri.EscapeDataString(Convert.ToString(s.Value, System.Globalization.CultureInfo.InvariantCulture)!)}"));

    public static ClickHouseOptions Options(ClickHouseServer via, string database) => new()
    {
        ConnectionString = via.ConnectionString,
        Database = database,
        Cluster = ClickHouseCluster.Name,
        Timeout = TimeSpan.FromSeconds(60),
    };

    /// <summary>
    /// Ingest on the cluster through <paramref name="via"/> in <paramref name="database"/> (its migrations create the
    /// schema ON CLUSTER unless it is there already), answering once queries see the events unless
    /// <paramref name="more"/> says otherwise.
    /// </summary>
    public static IngestHost Host(ClickHouseServer via, string database, IDictionary<string, string?>? more = null)
    {
        var settings = ClickHouseCluster.IngestSettings(via, database);
        settings["Storage:ClickHouse:Timeout"] = "00:01:00";
        settings["Writer:Ack"] = "Queryable";
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return new IngestHost(settings);
    }

    /// <summary>The database an ingest host of <see cref="Host"/> writes.</summary>
    public static string DatabaseOf(IngestHost host) =>
        host.Services.GetRequiredService<IOptions<ClickHouseOptions>>().Value.Database;

    /// <summary>Rows of <paramref name="sql"/> (ending in FORMAT JSONEachRow) on one node.</summary>
    public static async Task<List<JsonElement>> RowsAsync(ClickHouseServer node, string sql)
    {
        var body = await node.Endpoint.QueryAsync(sql);
        return [.. body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];
    }

    /// <summary>Waits until every node has applied everything its replication queue holds (bounded by ClickHouse's own timeout).</summary>
    public static async Task SyncReplicasAsync(ClickHouseCluster cluster, string database)
    {
        foreach (var node in cluster.Nodes)
        {
            var tables = await RowsAsync(node, $"SELECT table FROM system.replicas WHERE database = '{database}' FORMAT JSONEachRow");
            foreach (var table in tables)
            {
                await node.Endpoint.QueryAsync($"SYSTEM SYNC REPLICA {database}.{table.GetProperty("table").GetString()}");
            }
        }
    }
}
