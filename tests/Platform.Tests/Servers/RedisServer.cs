using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Platform.Tests.Servers;

/// <summary>
/// A throwaway redis-server on a free loopback port, without persistence. Most tests share one through
/// <see cref="RedisFixture"/>; a test that stops Redis starts its own. .ci/run installs redis-server.
/// </summary>
internal sealed class RedisServer : ServerProcess
{
    /// <summary>Logical databases, so every test of a shared server gets one of its own.</summary>
    public const int Databases = 4096;

    private RedisServer(string root, int port)
        : base($"redis-server on port {port}", root)
    {
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    protected override string Package => "redis-server";

    public static Task<RedisServer> StartAsync() =>
        StartedAsync(new RedisServer(Directory.CreateTempSubdirectory("platform-redis-").FullName, FreePorts.One()));

    /// <summary>Stops the server for good (the fallback tests); idempotent.</summary>
    public void Stop() => Kill();

    /// <summary>Every key in logical database <paramref name="database"/>, as raw bytes (for tests of the key layout).</summary>
    public Task<byte[][]> KeysAsync(int database = 0) => RedisKeys.AllAsync(ConnectionString, database);

    protected override ProcessStartInfo StartInfo()
    {
        var start = new ProcessStartInfo("redis-server") { WorkingDirectory = Root };
        foreach (var argument in new[]
        {
            "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", Root, "--databases", Databases.ToString(CultureInfo.InvariantCulture),
        })
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    protected override Task<bool> AnswersAsync() => RedisKeys.AnswersPingAsync(Port);
}

/// <summary>Plain Redis calls the tests make without a client library's connection logic in the way.</summary>
internal static class RedisKeys
{
    public static async Task<byte[][]> AllAsync(string connectionString, int database)
    {
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(connectionString);
        var keys = new List<byte[]>();
        var endpoint = connection.GetEndPoints()[0];
        await foreach (var key in connection.GetServer(endpoint).KeysAsync(database))
        {
            keys.Add((byte[])key!);
        }

        return [.. keys];
    }

    public static async Task<bool> AnswersPingAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(1));
            return read > 0 && buffer[0] == (byte)'+';
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
        {
            return false;
        }
    }
}
