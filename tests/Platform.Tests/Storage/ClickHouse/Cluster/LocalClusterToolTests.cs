using System.Diagnostics;
using System.Globalization;

namespace Platform.Tests.Storage.ClickHouse.Cluster;

/// <summary>
/// The documented command (<c>dotnet run --project tools/local-cluster</c>) as its built program: it starts a cluster
/// that answers as one, prints how to point ingest at it, and on SIGTERM stops every server and deletes its data.
/// </summary>
[Trait("Category", Servers.ClickHouseClusterGroup.Category)]
public sealed class LocalClusterToolTests
{
    [Fact]
    public async Task The_local_cluster_starts_prints_how_to_use_it_and_leaves_nothing_behind_when_stopped()
    {
        var envFile = Path.Combine(Path.GetTempPath(), $"platform-local-cluster-{Guid.NewGuid():N}.env");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(ToolAssembly());
        start.ArgumentList.Add("--env-file");
        start.ArgumentList.Add(envFile);
        using var tool = Process.Start(start)!;
        var output = tool.StandardOutput.ReadToEndAsync();
        var errors = tool.StandardError.ReadToEndAsync();
        Dictionary<string, string> env;
        try
        {
            var deadline = Stopwatch.StartNew();
            while (!File.Exists(envFile))
            {
                if (tool.HasExited)
                {
                    Assert.Fail($"the tool exited: {await errors}");
                }

                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "the cluster did not come up");
                await Task.Delay(100);
            }

            env = File.ReadAllLines(envFile).Select(line => line.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
            using var http = new HttpClient();
            var clusters = await http.GetStringAsync(new Uri(
                $"http://127.0.0.1:{env["CH_2_HTTP"]}/?query=" + Uri.EscapeDataString("SELECT count() FROM system.clusters WHERE cluster = 'platform'")));
            Assert.Equal("3", clusters.Trim());
        }
        finally
        {
            using (var term = Process.Start("kill", ["-TERM", tool.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await tool.WaitForExitAsync(timeout.Token);
            File.Delete(envFile);
        }

        var printed = await output;
        Assert.Contains("--Storage:ClickHouse:Cluster=platform", printed, StringComparison.Ordinal);
        Assert.Contains($"Port={env["CH_0_HTTP"]}", printed, StringComparison.Ordinal);
        Assert.Equal(0, tool.ExitCode);
        Assert.False(Directory.Exists(env["CLUSTER_ROOT"]));
        foreach (var pid in env.Where(kv => kv.Key.EndsWith("_PID", StringComparison.Ordinal)).Select(kv => int.Parse(kv.Value, CultureInfo.InvariantCulture)))
        {
            Assert.False(IsRunning(pid), $"process {pid} still runs");
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>The tool's build next to this test build: tests/Platform.Tests/bin/{Configuration}/{tfm} → tools/local-cluster/bin/….</summary>
    private static string ToolAssembly()
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var root = testOutput;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Platform.sln")))
        {
            root = root.Parent;
        }

        var path = Path.Combine(root!.FullName, "tools", "local-cluster", "bin", testOutput.Parent!.Name, testOutput.Name, "Platform.LocalCluster.dll");
        Assert.True(File.Exists(path), $"{path} not found; build the solution first");
        return path;
    }
}
