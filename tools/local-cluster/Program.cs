using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Platform.Tests.Servers;

// dotnet run --project tools/local-cluster [-- --shards 2,1] [--dir DIR] [--env-file FILE]
// Starts a ZooKeeper and a clickhouse-server per replica of each shard on free 127.0.0.1 ports, data under DIR (a new
// temporary directory unless given), prints how to point ingest at it, and on Ctrl+C or SIGTERM stops every server and
// deletes DIR. --env-file writes the ports and process ids as KEY=VALUE lines once the cluster answers (for scripts:
// perf/lib/stack.sh starts the benchmark's cluster this way).
var replicasPerShard = new List<int> { 2, 1 };
string? root = null;
string? envFile = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--shards" when i + 1 < args.Length:
            replicasPerShard = [.. args[++i].Split(',').Select(n => int.Parse(n, CultureInfo.InvariantCulture))];
            break;
        case "--dir" when i + 1 < args.Length:
            root = Path.GetFullPath(args[++i]);
            break;
        case "--env-file" when i + 1 < args.Length:
            envFile = Path.GetFullPath(args[++i]);
            break;
        default:
            Console.Error.WriteLine("usage: local-cluster [--shards 2,1] [--dir DIR] [--env-file FILE]");
            Console.Error.WriteLine("  --shards   replicas of each shard, in order (default 2,1: shard 1 with two replicas, shard 2 with one)");
            return 2;
    }
}

if (replicasPerShard.Count == 0 || replicasPerShard.Any(n => n is < 1 or > 3))
{
    Console.Error.WriteLine("--shards takes one to three replicas per shard, e.g. 2,1");
    return 2;
}

using var stop = new CancellationTokenSource();
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

var started = Stopwatch.StartNew();
ClickHouseCluster cluster;
try
{
    cluster = await ClickHouseCluster.StartAsync(replicasPerShard, root);
}
catch (InvalidOperationException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine("Install the servers with: bash .ci/install-servers.sh zookeeper");
    return 1;
}

using (cluster)
{
    var first = cluster.Shards[0][0];
    var output = new StringBuilder()
        .AppendLine(CultureInfo.InvariantCulture, $"ClickHouse cluster '{ClickHouseCluster.Name}' is up in {started.Elapsed.TotalSeconds:F1} s, data in {cluster.Root}")
        .AppendLine(CultureInfo.InvariantCulture, $"  zookeeper                127.0.0.1:{cluster.ZooKeeper.Port}  (pid {cluster.ZooKeeper.ProcessId})");
    foreach (var node in cluster.Nodes)
    {
        output.AppendLine(CultureInfo.InvariantCulture,
            $"  shard {node.Shard} replica {node.Replica,-3}   http 127.0.0.1:{node.HttpPort}  native {node.TcpPort}  (pid {node.ProcessId})");
    }

    output
        .AppendLine()
        .AppendLine("Point ingest at it (any node will do; its migrations create the schema ON CLUSTER):")
        .AppendLine("  dotnet run --project ingest -- --Storage:Backend=ClickHouse \\")
        .AppendLine(CultureInfo.InvariantCulture, $"    --Storage:ClickHouse:ConnectionString='{first.ConnectionString}' \\")
        .AppendLine(CultureInfo.InvariantCulture, $"    --Storage:ClickHouse:Cluster={ClickHouseCluster.Name}")
        .AppendLine("or, in its environment:")
        .AppendLine(CultureInfo.InvariantCulture, $"  Storage__Backend=ClickHouse Storage__ClickHouse__ConnectionString='{first.ConnectionString}' Storage__ClickHouse__Cluster={ClickHouseCluster.Name}")
        .AppendLine(CultureInfo.InvariantCulture, $"SQL on a node: clickhouse-client --port {first.TcpPort}")
        .AppendLine("Ctrl+C stops every server and deletes the data.");
    Console.Write(output);
    if (envFile is not null)
    {
        var env = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"CLUSTER={ClickHouseCluster.Name}")
            .AppendLine(CultureInfo.InvariantCulture, $"CLUSTER_ROOT={cluster.Root}")
            .AppendLine(CultureInfo.InvariantCulture, $"ZK_PORT={cluster.ZooKeeper.Port}")
            .AppendLine(CultureInfo.InvariantCulture, $"ZK_PID={cluster.ZooKeeper.ProcessId}")
            .AppendLine(CultureInfo.InvariantCulture, $"CH_NODES={cluster.Nodes.Count}");
        for (var n = 0; n < cluster.Nodes.Count; n++)
        {
            var node = cluster.Nodes[n];
            env.AppendLine(CultureInfo.InvariantCulture, $"CH_{n}_NAME=s{node.Shard}{node.Replica}")
                .AppendLine(CultureInfo.InvariantCulture, $"CH_{n}_HTTP={node.HttpPort}")
                .AppendLine(CultureInfo.InvariantCulture, $"CH_{n}_TCP={node.TcpPort}")
                .AppendLine(CultureInfo.InvariantCulture, $"CH_{n}_PID={node.ProcessId}");
        }

        // Written whole, then renamed: a script waiting for the file never reads half of it.
        File.WriteAllText(envFile + ".tmp", env.ToString());
        File.Move(envFile + ".tmp", envFile, overwrite: true);
    }

    try
    {
        await Task.Delay(Timeout.Infinite, stop.Token);
    }
    catch (OperationCanceledException)
    {
        Console.WriteLine("stopping the cluster");
    }
}

return 0;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}
