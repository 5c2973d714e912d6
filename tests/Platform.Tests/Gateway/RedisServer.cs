using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Platform.Tests.Gateway;

/// <summary>
/// A throwaway redis-server on a free loopback port, without persistence, stopped (killed) on dispose.
/// .ci/run installs redis-server when it is missing.
/// </summary>
internal sealed class RedisServer : IDisposable
{
    private readonly Process _process;
    private bool _disposed;

    private RedisServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        var port = FreePort();
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--port", $"{port}", "--save", "", "--appendonly", "no", "--bind", "127.0.0.1", "--daemonize", "no" })
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-server is not installed; .ci/run installs it (apt-get install -y redis-server)", ex);
        }

        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new RedisServer(process, port);
        var deadline = Stopwatch.StartNew();
        while (!await server.AnswersPingAsync())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(10) || process.HasExited)
            {
                server.Dispose();
                throw new InvalidOperationException($"redis-server did not answer on port {port}");
            }

            await Task.Delay(50);
        }

        return server;
    }

    /// <summary>Stops the server for good (the fallback tests); idempotent.</summary>
    public void Stop()
    {
        if (!_disposed && !_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    /// <summary>
    /// SIGSTOP: the server keeps its connections but answers nothing, as a stalled Redis does (commands time out rather
    /// than fail at once). Stopped for good on dispose.
    /// </summary>
    public void Pause()
    {
        using var kill = Process.Start("kill", ["-STOP", $"{_process.Id}"]);
        kill.WaitForExit();
    }

    /// <summary>Every key in the server, as raw bytes (for tests of the key layout).</summary>
    public async Task<byte[][]> KeysAsync()
    {
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(ConnectionString);
        var keys = new List<byte[]>();
        await foreach (var key in connection.GetServer(ConnectionString).KeysAsync())
        {
            keys.Add((byte[])key!);
        }

        return [.. keys];
    }

    public void Dispose()
    {
        Stop();
        _disposed = true;
        _process.Dispose();
    }

    private async Task<bool> AnswersPingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
