using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Platform.ServiceDefaults.Auth;
using Platform.Tests.Servers;

namespace Platform.Tests.Integration;

/// <summary>
/// The real ingest service as a child process (the build's Platform.Ingest.dll) on a free loopback port, so a test can
/// do what an in-process host cannot: kill it (SIGKILL, nothing flushed) or stop it as Kubernetes does (SIGTERM) and
/// start it again on the same directories, or freeze it (SIGSTOP). Killed on dispose if still running (a stopped process
/// too); the directories belong to the caller.
/// </summary>
internal sealed class IngestProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private IngestProcess(Process process, int port, string keyDirectory)
    {
        _process = process;
        Port = port;
        KeyDirectory = keyDirectory;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public int Port { get; }

    public string KeyDirectory { get; }

    public HttpClient Client { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>What the process wrote to stdout and stderr, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts ingest with <paramref name="settings"/> as command-line configuration and waits (bounded) until it is ready.</summary>
    public static Task<IngestProcess> StartAsync(string keyDirectory, IDictionary<string, string> settings) =>
        StartAsync(keyDirectory, settings, "ingest", "Platform.Ingest.dll");

    /// <summary>The gateway's build in the same harness (its readiness is its own), for tests that need both as real processes.</summary>
    public static Task<IngestProcess> StartGatewayAsync(string keyDirectory, IDictionary<string, string> settings) =>
        StartAsync(keyDirectory, settings, "gateway", "Platform.Gateway.dll");

    private static async Task<IngestProcess> StartAsync(string keyDirectory, IDictionary<string, string> settings, string project, string assembly)
    {
        DevelopmentKeys.EnsureKeyPair(keyDirectory);
        var port = FreePorts.One();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = keyDirectory,
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        start.ArgumentList.Add(ServiceAssembly(project, assembly));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        var all = new Dictionary<string, string>
        {
            ["Auth:Issuer"] = IngestHost.Issuer,
            ["Auth:Audiences:0"] = IngestHost.Audience,
            ["Auth:PublicKeyFiles:0"] = Path.Combine(keyDirectory, DevelopmentKeys.PublicKeyFileName),
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        foreach (var (key, value) in all)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var ingest = new IngestProcess(process, port, keyDirectory);
        process.OutputDataReceived += (_, line) => ingest.Append(line.Data);
        process.ErrorDataReceived += (_, line) => ingest.Append(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                var output = ingest.Output;
                ingest.Dispose();
                throw new InvalidOperationException($"{project} did not become ready; its output:\n{output}");
            }

            try
            {
                using var ready = await ingest.Client.GetAsync("/healthz/ready");
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return ingest;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }
    }

    public string Token(string tenant = "acme") =>
        DevelopmentKeys.MintToken(KeyDirectory, IngestHost.Issuer, IngestHost.Audience, tenant, [PlatformScopes.GroupApi], TimeSpan.FromMinutes(10));

    public async Task<HttpResponseMessage> PostAsync(string json, string tenant = "acme")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/group")
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token(tenant));
        return await Client.SendAsync(request);
    }

    /// <summary>SIGKILL: the process gets no chance to flush, ship or close anything.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGSTOP: the process is frozen (every thread, timers included) until <see cref="ResumeAsync"/>, as a VM pause or a debugger would.</summary>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>SIGCONT after <see cref="PauseAsync"/>.</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", $"{_process.Id}"]);
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {_process.Id} failed with {kill.ExitCode}");
        }
    }

    /// <summary>SIGTERM, as Kubernetes stops a pod, then waits (bounded) for the process to exit by itself; returns its exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan within)
    {
        using (var kill = Process.Start("kill", ["-TERM", $"{_process.Id}"]))
        {
            await kill.WaitForExitAsync();
            if (kill.ExitCode != 0)
            {
                throw new InvalidOperationException($"kill -TERM {_process.Id} failed with {kill.ExitCode}");
            }
        }

        using var timeout = new CancellationTokenSource(within);
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        Client.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>A service's build next to this test build: tests/Platform.Tests/bin/{Configuration}/{tfm} → {project}/bin/{Configuration}/{tfm}.</summary>
    private static string ServiceAssembly(string project, string assembly)
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = testOutput.Name;
        var configuration = testOutput.Parent!.Name;
        var root = testOutput;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Platform.sln")))
        {
            root = root.Parent;
        }

        var path = root is null ? null : Path.Combine(root.FullName, project, "bin", configuration, tfm, assembly);
        return path is not null && File.Exists(path)
            ? path
            : throw new InvalidOperationException($"{assembly} not found at {path}; build the solution first");
    }
}
