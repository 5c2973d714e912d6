using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Platform.Tests.Telemetry;

/// <summary>
/// A throwaway Prometheus (Debian's prometheus package; .ci/run installs it) on a free loopback port with its data in a
/// temporary directory, scraping the given jobs every second. Its configuration is checked with promtool first, so a
/// broken one fails with promtool's message. Stopped (killed) and its directory deleted on dispose.
/// </summary>
internal sealed class PrometheusServer : IDisposable
{
    private readonly Process _process;
    private readonly string _root;
    private readonly ConcurrentQueue<string> _output;

    private PrometheusServer(Process process, string root, int port, ConcurrentQueue<string> output)
    {
        _process = process;
        _root = root;
        _output = output;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public HttpClient Client { get; }

    /// <summary>What the server wrote, for failure messages.</summary>
    public string Output => string.Join('\n', _output);

    /// <param name="jobs">Scrape jobs by name, each a list of loopback ports serving <c>/metrics</c>.</param>
    public static async Task<PrometheusServer> StartAsync(IReadOnlyDictionary<string, int[]> jobs)
    {
        var root = Directory.CreateTempSubdirectory("platform-prometheus-").FullName;
        var port = FreePort();
        var config = Path.Combine(root, "prometheus.yml");
        await File.WriteAllTextAsync(config, Config(jobs));

        var check = await RunAsync("promtool", ["check", "config", config]);
        if (check.ExitCode != 0)
        {
            Directory.Delete(root, recursive: true);
            throw new InvalidOperationException($"promtool check config failed:\n{check.Output}");
        }

        var start = new ProcessStartInfo("prometheus")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = root,
        };
        foreach (var argument in new[]
        {
            $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(root, "data")}",
            $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var output = new ConcurrentQueue<string>();
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("prometheus did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Directory.Delete(root, recursive: true);
            throw new InvalidOperationException("prometheus is not installed; .ci/run installs it (apt-get install -y prometheus)", ex);
        }

        process.OutputDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        process.ErrorDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new PrometheusServer(process, root, port, output);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var ready = await server.Client.GetAsync("/-/ready");
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return server;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                var log = server.Output;
                server.Dispose();
                throw new InvalidOperationException($"prometheus did not become ready:\n{log}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits (bounded) until Prometheus has scraped every target successfully at least once.</summary>
    public async Task WaitForTargetsUpAsync(int targets, TimeSpan within)
    {
        var deadline = Stopwatch.StartNew();
        var last = "";
        while (deadline.Elapsed < within)
        {
            last = await Client.GetStringAsync("/api/v1/targets?state=active");
            var active = JsonNode.Parse(last)!["data"]!["activeTargets"]!.AsArray();
            if (active.Count == targets && active.All(t => (string?)t!["health"] == "up"))
            {
                return;
            }

            await Task.Delay(250);
        }

        throw new InvalidOperationException($"not every target is up after {within}: {last}");
    }

    /// <summary>An instant query through the HTTP API: the whole answer (status, and data or the error).</summary>
    public async Task<JsonNode> QueryAsync(string expression)
    {
        using var response = await Client.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(expression));
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    public void Dispose()
    {
        Client.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file still being closed; the temp directory is cleaned by the OS.
        }
    }

    private static string Config(IReadOnlyDictionary<string, int[]> jobs)
    {
        var yaml = new StringBuilder("""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:

            """);
        foreach (var (job, ports) in jobs)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"  - job_name: {job}\n    metrics_path: /metrics\n    static_configs:\n      - targets: [");
            yaml.AppendJoin(", ", ports.Select(p => $"'127.0.0.1:{p}'"));
            yaml.Append("]\n");
        }

        return yaml.ToString();
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return (process.ExitCode, await stdout + await stderr);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
