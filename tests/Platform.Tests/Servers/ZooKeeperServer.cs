using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Platform.Tests.Servers;

/// <summary>
/// A standalone ZooKeeper (Debian's <c>zookeeper</c> 3.8, run by <c>java</c> straight from its jar) on a free loopback
/// port with its data in a temporary directory: what a ClickHouse cluster keeps its replication log and its ON CLUSTER
/// DDL queue in. Kept small: a 64 MB heap, the serial collector, the client JIT only, no admin HTTP server, small
/// preallocated logs, no fsync (a test's ZooKeeper outlives nothing).
/// </summary>
internal sealed class ZooKeeperServer : ServerProcess
{
    private const string Jar = "/usr/share/java/zookeeper.jar";

    /// <summary>Debian's slf4j binding that writes to stderr (kept for failure messages); without one ZooKeeper says nothing.</summary>
    private const string LogBinding = "/usr/share/java/slf4j-simple.jar";

    private ZooKeeperServer(string root, int port)
        : base($"zookeeper on port {port}", root)
    {
        Port = port;
        Directory.CreateDirectory(Path.Combine(Root, "data"));
        // tickTime 500 ms: sessions may be as short as 1 s, so a killed ClickHouse node's session (and its replica's
        // "active" marker) expires within the 4 s the nodes ask for, and a node started again is writable soon.
        File.WriteAllText(Path.Combine(Root, "zoo.cfg"), $"""
            tickTime=500
            dataDir={Root}/data
            clientPort={port}
            clientPortAddress=127.0.0.1
            maxClientCnxns=0
            admin.enableServer=false
            4lw.commands.whitelist=srvr
            preAllocSize=4096
            forceSync=no
            """);
    }

    public int Port { get; }

    protected override string Package => "zookeeper";

    public static Task<ZooKeeperServer> StartAsync(string root, int port) => StartedAsync(new ZooKeeperServer(root, port));

    protected override ProcessStartInfo StartInfo()
    {
        if (!File.Exists(Jar))
        {
            throw new InvalidOperationException($"{Jar} not found: zookeeper is not installed; .ci/run installs it (apt-get install -y zookeeper)");
        }

        var start = new ProcessStartInfo("java") { WorkingDirectory = Root };
        foreach (var argument in new[]
        {
            "-Xmx64m", "-Xms16m", "-Xss512k", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1",
            "-Dzookeeper.admin.enableServer=false", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", Jar + ":" + LogBinding, "org.apache.zookeeper.server.ZooKeeperServerMain",
            Path.Combine(Root, "zoo.cfg"),
        })
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>
    /// ZooKeeper's "srvr" names its mode once it serves sessions. "ruok" is no test: it answers "imok" while the server
    /// still loads, and a ClickHouse that connects then is refused its session and, on 18.16, may crash.
    /// </summary>
    protected override async Task<bool> AnswersAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync("srvr"u8.ToArray());
            var buffer = new byte[4096];
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(1));
            return Encoding.ASCII.GetString(buffer, 0, read).Contains("Mode: standalone", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
        {
            return false;
        }
    }
}
