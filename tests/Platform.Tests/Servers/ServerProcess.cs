using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;

namespace Platform.Tests.Servers;

/// <summary>
/// One server process a test (or the local cluster tool) starts: its own directory, started and waited for until it
/// answers, killed as abruptly as a crash (<see cref="Kill"/>) and started again on the same ports and data
/// (<see cref="StartAgainAsync"/>), and on dispose killed and its directory deleted. Only the process it started is ever
/// signalled.
/// </summary>
internal abstract class ServerProcess : IDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;
    private bool _disposed;

    protected ServerProcess(string name, string root)
    {
        Name = name;
        Root = root;
    }

    /// <summary>What the process is called in messages (e.g. "clickhouse-server ch1").</summary>
    public string Name { get; }

    /// <summary>The server's own directory: its configuration and data. Deleted on dispose.</summary>
    public string Root { get; }

    /// <summary>The running process's id (null when stopped), for a caller that samples its CPU.</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    public bool IsRunning => ProcessId is not null;

    /// <summary>The last lines the process wrote, for failure messages.</summary>
    public string OutputTail => string.Join('\n', _output.TakeLast(30));

    /// <summary>How long a start may take before it counts as failed.</summary>
    protected virtual TimeSpan StartTimeout => TimeSpan.FromSeconds(60);

    /// <summary>The Debian package that has the executable, named when it is missing.</summary>
    protected abstract string Package { get; }

    /// <summary>The command line, environment and working directory of one start; the configuration is already written.</summary>
    protected abstract ProcessStartInfo StartInfo();

    /// <summary>True once the server answers; false while it does not yet (never throws for "not yet").</summary>
    protected abstract Task<bool> AnswersAsync();

    /// <summary>Starts the process (the first time, or again after <see cref="Kill"/>: same ports, same data) and waits until it answers.</summary>
    public async Task StartAgainAsync()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsRunning)
        {
            throw new InvalidOperationException($"{Name} is already running");
        }

        var start = StartInfo();
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException($"{Name} did not start");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException(
                $"{start.FileName} is not installed; .ci/run installs it (apt-get install -y {Package})", ex);
        }

        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (!await AnswersAsync())
        {
            if (deadline.Elapsed > StartTimeout || _process.HasExited)
            {
                Kill();
                throw new InvalidOperationException($"{Name} did not answer within {StartTimeout.TotalSeconds:F0} s:\n{OutputTail}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Starts <paramref name="server"/> and returns it; on failure disposes it (its directory too) and throws.</summary>
    public static async Task<T> StartedAsync<T>(T server)
        where T : ServerProcess
    {
        ArgumentNullException.ThrowIfNull(server);
        try
        {
            await server.StartAgainAsync();
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: an outage as abrupt as a crash, nothing flushed. Idempotent.</summary>
    public void Kill()
    {
        if (_process is { } process)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
                // Exited in between.
            }

            process.Dispose();
            _process = null;
        }
    }

    /// <summary>
    /// SIGSTOP: the server keeps its connections but answers nothing, as a stalled server does (calls time out rather than
    /// fail at once). <see cref="Kill"/> and dispose still stop it.
    /// </summary>
    public void Pause()
    {
        if (ProcessId is { } pid)
        {
            using var stop = Process.Start("kill", ["-STOP", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            stop.WaitForExit();
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Kill();
        OnDisposed();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the OS's temp cleaning.
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Anything else to release once the process is gone (before its directory is deleted).</summary>
    protected virtual void OnDisposed()
    {
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
    }
}
