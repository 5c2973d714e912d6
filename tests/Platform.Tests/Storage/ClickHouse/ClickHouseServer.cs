using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Platform.Tests.Storage.ClickHouse;

/// <summary>
/// A throwaway clickhouse-server (Debian's 18.16 here) with its own config, ports and data in a temporary directory,
/// listening on 127.0.0.1 only. <see cref="Stop"/> kills it and <see cref="StartAgainAsync"/> brings it back on the same
/// ports and data (outage tests); dispose kills it and deletes the directory. .ci/run installs clickhouse-server.
/// </summary>
internal sealed class ClickHouseServer : IDisposable
{
    private readonly string _root;
    private Process? _process;

    private ClickHouseServer(string root, int httpPort, int tcpPort)
    {
        _root = root;
        HttpPort = httpPort;
        TcpPort = tcpPort;
    }

    public int HttpPort { get; }

    public int TcpPort { get; }

    public string ConnectionString => $"Host=127.0.0.1;Port={HttpPort};Username=default;Password=";

    public static async Task<ClickHouseServer> StartAsync()
    {
        var root = Directory.CreateTempSubdirectory("platform-clickhouse-").FullName;
        var server = new ClickHouseServer(root, FreePort(), FreePort());
        server.WriteConfig();
        await server.StartAgainAsync();
        return server;
    }

    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo("clickhouse-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _root,
        };
        start.ArgumentList.Add($"--config-file={Path.Combine(_root, "config.xml")}");
        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException("clickhouse-server did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("clickhouse-server is not installed; .ci/run installs it (apt-get install -y clickhouse-server)", ex);
        }

        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        _process.OutputDataReceived += (_, e) => output.Enqueue(e.Data ?? string.Empty);
        _process.ErrorDataReceived += (_, e) => output.Enqueue(e.Data ?? string.Empty);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var answer = await http.GetStringAsync(new Uri($"http://127.0.0.1:{HttpPort}/?query=SELECT%201"));
                if (answer.Trim() == "1")
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(60) || _process.HasExited)
            {
                Stop();
                throw new InvalidOperationException($"clickhouse-server did not answer on port {HttpPort}: {string.Join('\n', output.TakeLast(20))}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Kills the server (an outage as abrupt as a crash); idempotent.</summary>
    public void Stop()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }

        _process?.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        Stop();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS's temp cleaning.
        }
    }

    private void WriteConfig()
    {
        foreach (var directory in new[] { "data", "tmp", "user_files", "format_schemas" })
        {
            Directory.CreateDirectory(Path.Combine(_root, directory));
        }

        File.WriteAllText(Path.Combine(_root, "config.xml"), $"""
            <?xml version="1.0"?>
            <yandex>
              <logger><level>warning</level><console>1</console></logger>
              <listen_host>127.0.0.1</listen_host>
              <http_port>{HttpPort}</http_port>
              <tcp_port>{TcpPort}</tcp_port>
              <path>{_root}/data/</path>
              <tmp_path>{_root}/tmp/</tmp_path>
              <user_files_path>{_root}/user_files/</user_files_path>
              <format_schema_path>{_root}/format_schemas/</format_schema_path>
              <users_config>users.xml</users_config>
              <default_profile>default</default_profile>
              <default_database>default</default_database>
              <mark_cache_size>268435456</mark_cache_size>
              <uncompressed_cache_size>268435456</uncompressed_cache_size>
            </yandex>
            """);
        File.WriteAllText(Path.Combine(_root, "users.xml"), """
            <?xml version="1.0"?>
            <yandex>
              <profiles><default></default></profiles>
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One clickhouse-server for every test in the "ClickHouse" collection; each test class uses databases of its own.</summary>
public sealed class ClickHouseFixture : IAsyncLifetime
{
    internal ClickHouseServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await ClickHouseServer.StartAsync();

    public Task DisposeAsync()
    {
        Server.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>A database name no other test uses.</summary>
    public static string NewDatabase() => "t_" + Guid.NewGuid().ToString("N");
}

[CollectionDefinition(Name)]
public sealed class ClickHouseServerGroup : ICollectionFixture<ClickHouseFixture>
{
    public const string Name = "ClickHouse";
}
