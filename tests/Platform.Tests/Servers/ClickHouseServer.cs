using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Platform.Tests.Servers;

/// <summary>
/// A throwaway clickhouse-server (Debian's 18.16 here) with its own config, ports and data in a temporary directory,
/// listening on 127.0.0.1 only: on its own, or as one node of a <see cref="ClickHouseCluster"/>. <see cref="ServerProcess.Kill"/>
/// and <see cref="ServerProcess.StartAgainAsync"/> take it down and bring it back on the same ports and data (outage
/// tests). .ci/run installs clickhouse-server.
/// </summary>
internal sealed class ClickHouseServer : ServerProcess
{
    private readonly ClusterMembership? _membership;

    private ClickHouseServer(string name, string root, int httpPort, int tcpPort, int interserverPort, ClusterMembership? membership)
        : base(name, root)
    {
        HttpPort = httpPort;
        TcpPort = tcpPort;
        InterserverPort = interserverPort;
        _membership = membership;
        Endpoint = ClickHouseEndpoint.Local(httpPort);
        WriteConfig();
    }

    public int HttpPort { get; }

    public int TcpPort { get; }

    /// <summary>Where replicas fetch parts from this node (cluster nodes only).</summary>
    public int InterserverPort { get; }

    public ClickHouseEndpoint Endpoint { get; }

    public string ConnectionString => Endpoint.ConnectionString;

    /// <summary>The node's <c>{shard}</c> macro (cluster nodes only).</summary>
    public string? Shard => _membership?.Shard;

    /// <summary>The node's <c>{replica}</c> macro (cluster nodes only).</summary>
    public string? Replica => _membership?.Replica;

    protected override string Package => "clickhouse-server";

    /// <summary>A server on its own, started.</summary>
    public static async Task<ClickHouseServer> StartAsync()
    {
        var ports = FreePorts.Take(2);
        return await StartedAsync(new ClickHouseServer(
            "clickhouse-server", Directory.CreateTempSubdirectory("platform-clickhouse-").FullName, ports[0], ports[1], 0, null));
    }

    /// <summary>One node of a cluster, configured in <paramref name="root"/>, not started.</summary>
    public static ClickHouseServer ClusterNode(string root, int httpPort, int tcpPort, int interserverPort, ClusterMembership membership) =>
        new($"clickhouse-server shard {membership.Shard} replica {membership.Replica}", root, httpPort, tcpPort, interserverPort, membership);

    protected override ProcessStartInfo StartInfo()
    {
        var start = new ProcessStartInfo("clickhouse-server") { WorkingDirectory = Root };
        start.ArgumentList.Add($"--config-file={Path.Combine(Root, "config.xml")}");
        return start;
    }

    protected override Task<bool> AnswersAsync() => Endpoint.AnswersAsync();

    private void WriteConfig()
    {
        foreach (var directory in new[] { "data", "tmp", "user_files", "format_schemas" })
        {
            Directory.CreateDirectory(Path.Combine(Root, directory));
        }

        // A node of a cluster is kept light (three of them share two cores with everything else): small caches, two
        // threads per query, four background merge threads, a memory cap per query. 18.16 has no server-wide memory cap.
        var cluster = _membership is null ? string.Empty : $"""
              <interserver_http_port>{InterserverPort}</interserver_http_port>
              <interserver_http_host>127.0.0.1</interserver_http_host>
              <remote_servers>{_membership.RemoteServers}</remote_servers>
              <zookeeper>
                <node><host>127.0.0.1</host><port>{_membership.ZooKeeperPort}</port></node>
                <session_timeout_ms>4000</session_timeout_ms>
              </zookeeper>
              <macros><shard>{_membership.Shard}</shard><replica>{_membership.Replica}</replica></macros>
              <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
            """;
        var cache = _membership is null ? 268435456 : 33554432;
        File.WriteAllText(Path.Combine(Root, "config.xml"), $"""
            <?xml version="1.0"?>
            <yandex>
              <logger><level>warning</level><console>1</console></logger>
              <listen_host>127.0.0.1</listen_host>
              <http_port>{HttpPort}</http_port>
              <tcp_port>{TcpPort}</tcp_port>
              <path>{Root}/data/</path>
              <tmp_path>{Root}/tmp/</tmp_path>
              <user_files_path>{Root}/user_files/</user_files_path>
              <format_schema_path>{Root}/format_schemas/</format_schema_path>
              <users_config>users.xml</users_config>
              <default_profile>default</default_profile>
              <default_database>default</default_database>
              <mark_cache_size>{cache}</mark_cache_size>
              <uncompressed_cache_size>{cache}</uncompressed_cache_size>
            {cluster}
            </yandex>
            """);
        var profile = _membership is null
            ? string.Empty
            : "<max_threads>2</max_threads><background_pool_size>4</background_pool_size><max_memory_usage>1000000000</max_memory_usage>";
        File.WriteAllText(Path.Combine(Root, "users.xml"), $"""
            <?xml version="1.0"?>
            <yandex>
              <profiles><default>{profile}</default></profiles>
              <users>
                <default>
                  <password></password>
                  <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
                  <profile>default</profile>
                  <quota>default</quota>
                </default>
              </users>
              <quotas><default></default></quotas>
            </yandex>
            """);
    }
}

/// <summary>What makes a server a cluster node: the cluster's <c>remote_servers</c> entry, ZooKeeper and its macros.</summary>
internal sealed record ClusterMembership(string RemoteServers, int ZooKeeperPort, string Shard, string Replica)
{
    /// <summary>The <c>remote_servers</c> body for one cluster: a list of shards, each a list of native (TCP) ports on 127.0.0.1.</summary>
    public static string RemoteServersXml(string cluster, IEnumerable<IEnumerable<int>> shards)
    {
        var xml = new StringBuilder().Append(CultureInfo.InvariantCulture, $"<{cluster}>");
        foreach (var shard in shards)
        {
            // Replicated tables copy rows between replicas themselves: the Distributed table writes one replica.
            xml.Append("<shard><internal_replication>true</internal_replication>");
            foreach (var port in shard)
            {
                xml.Append(CultureInfo.InvariantCulture, $"<replica><host>127.0.0.1</host><port>{port}</port></replica>");
            }

            xml.Append("</shard>");
        }

        return xml.Append(CultureInfo.InvariantCulture, $"</{cluster}>").ToString();
    }
}
