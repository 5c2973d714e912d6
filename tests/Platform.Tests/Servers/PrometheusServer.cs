using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Platform.Tests.Servers;

/// <summary>
/// A throwaway Prometheus (Debian's prometheus package; .ci/run installs it) on a free loopback port with its data in a
/// temporary directory, scraping the given jobs every second. Its configuration is checked with promtool first, so a
/// broken one fails with promtool's message. Stopped (killed) and its directory deleted on dispose.
/// </summary>
internal sealed class PrometheusServer : ServerProcess
{
    private readonly string _config;

    private PrometheusServer(string root, int port, string config)
        : base($"prometheus on port {port}", root)
    {
        Port = port;
        _config = config;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public int Port { get; }

    public HttpClient Client { get; }

    /// <summary>What the server wrote, for failure messages.</summary>
    public string Output => OutputTail;

    protected override string Package => "prometheus";

    protected override TimeSpan StartTimeout => TimeSpan.FromSeconds(30);

    /// <param name="jobs">Scrape jobs by name, each a list of loopback ports serving <c>/metrics</c>.</param>
    public static async Task<PrometheusServer> StartAsync(IReadOnlyDictionary<string, int[]> jobs)
    {
        var root = Directory.CreateTempSubdirectory("platform-prometheus-").FullName;
        var config = Path.Combine(root, "prometheus.yml");
        await File.WriteAllTextAsync(config, Config(jobs));

        var check = await RunAsync("promtool", ["check", "config", config]);
        if (check.ExitCode != 0)
        {
            Directory.Delete(root, recursive: true);
            throw new InvalidOperationException($"promtool check config failed:\n{check.Output}");
        }

        return await StartedAsync(new PrometheusServer(root, FreePorts.One(), config));
    }

    protected override ProcessStartInfo StartInfo()
    {
        var start = new ProcessStartInfo("prometheus") { WorkingDirectory = Root };
        foreach (var argument in new[]
        {
            $"--config.file={_config}", $"--storage.tsdb.path={Path.Combine(Root, "data")}",
            $"--web.listen-address=127.0.0.1:{Port}", "--log.level=warn",
        })
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    protected override async Task<bool> AnswersAsync()
    {
        try
        {
            using var ready = await Client.GetAsync("/-/ready");
            return ready.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    protected override void OnDisposed() => Client.Dispose();

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
}
