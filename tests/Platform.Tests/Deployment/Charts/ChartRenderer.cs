using k8s;
using k8s.Models;

namespace Platform.Tests.Deployment.Charts;

/// <summary>
/// Renders a chart in <c>charts/</c> with a real <c>helm template</c> when helm is on PATH, otherwise with the
/// repository's Helm-engine renderer (tools/chart-render, Go text/template + sprig; .ci/run builds it, and this
/// class builds it itself when go is installed). The output is loaded strictly: an unknown field fails.
/// </summary>
internal static class ChartRenderer
{
    public const string Namespace = "platform";

    private static readonly SemaphoreSlim BuildLock = new(1, 1);

    /// <summary>The kinds the charts may render; anything else (a typo in kind or apiVersion) fails loading.</summary>
    private static readonly Dictionary<string, Type> Kinds = new()
    {
        ["v1/ConfigMap"] = typeof(V1ConfigMap),
        ["v1/Service"] = typeof(V1Service),
        ["v1/ServiceAccount"] = typeof(V1ServiceAccount),
        ["v1/Pod"] = typeof(V1Pod),
        ["v1/PersistentVolumeClaim"] = typeof(V1PersistentVolumeClaim),
        ["apps/v1/Deployment"] = typeof(V1Deployment),
        ["apps/v1/StatefulSet"] = typeof(V1StatefulSet),
        ["autoscaling/v2/HorizontalPodAutoscaler"] = typeof(V2HorizontalPodAutoscaler),
        ["policy/v1/PodDisruptionBudget"] = typeof(V1PodDisruptionBudget),
        ["networking.k8s.io/v1/NetworkPolicy"] = typeof(V1NetworkPolicy),
        ["monitoring.coreos.com/v1/ServiceMonitor"] = typeof(ServiceMonitor),
    };

    public static string ChartDirectory(string chart) => Repository.PathOf("charts", chart);

    /// <summary>Renders and loads; throws <see cref="ChartRenderException"/> when the chart refuses the values.</summary>
    public static async Task<IReadOnlyList<object>> RenderAsync(string chart, params string[] valueFiles)
    {
        var manifests = await RenderTextAsync(chart, chart, valueFiles);
        return Load(manifests);
    }

    public static IReadOnlyList<object> Load(string manifests) =>
        KubernetesYaml.LoadAllFromString(manifests, Kinds, strict: true);

    public static async Task<string> RenderTextAsync(string chart, string release, params string[] valueFiles)
    {
        var arguments = new List<string>();
        string program;
        if (ExternalCommand.IsOnPath("helm"))
        {
            program = "helm";
            arguments.AddRange(["template", release, ChartDirectory(chart), "--namespace", Namespace]);
        }
        else
        {
            program = await RendererAsync();
            arguments.AddRange(["-name", release, "-namespace", Namespace]);
        }

        foreach (var file in valueFiles)
        {
            arguments.AddRange(["-f", file]);
        }

        if (program != "helm")
        {
            arguments.Add(ChartDirectory(chart));
        }

        var result = await ExternalCommand.RunAsync(program, arguments, Repository.Root, TimeSpan.FromMinutes(1));
        if (result.ExitCode != 0)
        {
            throw new ChartRenderException(result.Error.Trim());
        }

        return result.Output;
    }

    /// <summary>NOTES.txt rendered, or null under a real helm (helm template does not print notes).</summary>
    public static async Task<string?> RenderNotesAsync(string chart, params string[] valueFiles)
    {
        if (ExternalCommand.IsOnPath("helm"))
        {
            return null;
        }

        var arguments = new List<string> { "-notes", "-name", chart, "-namespace", Namespace };
        foreach (var file in valueFiles)
        {
            arguments.AddRange(["-f", file]);
        }

        arguments.Add(ChartDirectory(chart));
        var result = await ExternalCommand.RunAsync(await RendererAsync(), arguments, Repository.Root, TimeSpan.FromMinutes(1));
        return result.ExitCode == 0 ? result.Output : throw new ChartRenderException(result.Error.Trim());
    }

    private static async Task<string> RendererAsync()
    {
        var configured = Environment.GetEnvironmentVariable("CHART_RENDER");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        var binary = Repository.PathOf("tools", "chart-render", "chart-render");
        await BuildLock.WaitAsync();
        try
        {
            var source = Repository.PathOf("tools", "chart-render", "main.go");
            if (File.Exists(binary) && File.GetLastWriteTimeUtc(binary) >= File.GetLastWriteTimeUtc(source))
            {
                return binary;
            }

            // GOPATH mode against Debian's packaged sprig and sigs.k8s.io/yaml: no module download.
            var environment = new Dictionary<string, string>
            {
                ["GO111MODULE"] = "off",
                ["GOPATH"] = "/usr/share/gocode",
                ["GOCACHE"] = Path.Combine(Path.GetTempPath(), "platform-chart-render-gocache"),
            };
            var build = await ExternalCommand.RunAsync("go", ["build", "-o", binary, "."], Path.GetDirectoryName(source)!, TimeSpan.FromMinutes(5), environment);
            if (build.ExitCode != 0)
            {
                throw new InvalidOperationException(build.Describe("go build tools/chart-render (apt-get install golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev)"));
            }

            return binary;
        }
        finally
        {
            BuildLock.Release();
        }
    }
}

internal sealed class ChartRenderException(string message) : Exception(message);
