namespace Platform.Tests.Servers;

/// <summary>
/// A real ClickHouse cluster on this machine: one ZooKeeper and a clickhouse-server per replica of each shard, on free
/// loopback ports, every configuration and all data under one temporary directory, written here (<c>remote_servers</c>,
/// the <c>{shard}</c>/<c>{replica}</c> macros, the ZooKeeper section, the ON CLUSTER DDL queue). The default layout is
/// the smallest that has both a replicated and an unreplicated shard: shard 1 with two replicas, shard 2 with one.
/// Replica names repeat across shards (<c>r1</c> on both), as many deployments name them, so nothing in the schema may
/// assume they are unique in the cluster. Dispose stops every process and deletes the directory.
/// </summary>
internal sealed class ClickHouseCluster : IDisposable
{
    /// <summary>The cluster's name in <c>remote_servers</c>, which ingest's Storage:ClickHouse:Cluster names.</summary>
    public const string Name = "platform";

    private ClickHouseCluster(string root, ZooKeeperServer zooKeeper, IReadOnlyList<IReadOnlyList<ClickHouseServer>> shards)
    {
        Root = root;
        ZooKeeper = zooKeeper;
        Shards = shards;
        Nodes = [.. shards.SelectMany(s => s)];
    }

    public string Root { get; }

    public ZooKeeperServer ZooKeeper { get; }

    /// <summary>Shard by shard (shard 1 first), each its replicas in <c>remote_servers</c> order.</summary>
    public IReadOnlyList<IReadOnlyList<ClickHouseServer>> Shards { get; }

    public IReadOnlyList<ClickHouseServer> Nodes { get; }

    /// <summary>Starts ZooKeeper, then every node at once, and waits until each answers.</summary>
    public static async Task<ClickHouseCluster> StartAsync(IReadOnlyList<int>? replicasPerShard = null, string? root = null)
    {
        replicasPerShard ??= [2, 1];
        root ??= Directory.CreateTempSubdirectory("platform-cluster-").FullName;
        Directory.CreateDirectory(root);
        var nodeCount = replicasPerShard.Sum();
        var ports = FreePorts.Take(1 + (3 * nodeCount));
        var zooKeeper = await ZooKeeperServer.StartAsync(Path.Combine(root, "zookeeper"), ports[0]);

        // Ports per node: HTTP, native, interserver.
        var next = 1;
        var layout = replicasPerShard.Select(replicas => Enumerable.Range(0, replicas).Select(_ =>
        {
            var node = (Http: ports[next], Tcp: ports[next + 1], Interserver: ports[next + 2]);
            next += 3;
            return node;
        }).ToArray()).ToArray();
        var remoteServers = ClusterMembership.RemoteServersXml(Name, layout.Select(shard => shard.Select(node => node.Tcp)));
        var shards = layout.Select((shard, s) => (IReadOnlyList<ClickHouseServer>)[.. shard.Select((node, r) =>
            ClickHouseServer.ClusterNode(
                Path.Combine(root, $"shard{s + 1}-r{r + 1}"), node.Http, node.Tcp, node.Interserver,
                new ClusterMembership(remoteServers, zooKeeper.Port, Shard: $"{s + 1}", Replica: $"r{r + 1}")))]).ToList();
        var cluster = new ClickHouseCluster(root, zooKeeper, shards);
        try
        {
            await Task.WhenAll(cluster.Nodes.Select(node => node.StartAgainAsync()));
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    /// <summary>Ingest's storage settings for this cluster, connected through <paramref name="via"/>, in <paramref name="database"/>.</summary>
    public static Dictionary<string, string?> IngestSettings(ClickHouseServer via, string database) => new()
    {
        ["Storage:Backend"] = "ClickHouse",
        ["Storage:ClickHouse:ConnectionString"] = via.ConnectionString,
        ["Storage:ClickHouse:Database"] = database,
        ["Storage:ClickHouse:Cluster"] = Name,
    };

    public void Dispose()
    {
        foreach (var node in Nodes)
        {
            node.Dispose();
        }

        ZooKeeper.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the OS's temp cleaning.
        }
    }
}
