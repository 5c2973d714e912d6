using System.Text.Json.Nodes;
using k8s.Models;

namespace Platform.Tests.Deployment.Charts;

/// <summary>The ingest chart ships the dashboard as a ConfigMap for Grafana's dashboard sidecar, only when asked to.</summary>
public sealed class GrafanaDashboardTests
{
    private static readonly string DashboardFile = Repository.PathOf("charts", "ingest", "dashboards", "platform-ingestion.json");

    [Fact]
    public async Task No_dashboard_is_rendered_by_default()
    {
        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", "default-values.yaml"));

        Assert.DoesNotContain(objects.OfType<V1ConfigMap>(), c => c.Metadata.Labels?.ContainsKey("grafana_dashboard") == true);
        Assert.DoesNotContain(objects.OfType<V1ConfigMap>(), c => c.Data?.ContainsKey("platform-ingestion.json") == true);
    }

    [Fact]
    public async Task Enabled_it_is_a_config_map_the_sidecar_selects_holding_the_dashboard_unchanged()
    {
        using var values = new TempValues("grafanaDashboard:\n  enabled: true\n");

        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", "default-values.yaml"), values.Path);

        var map = Assert.Single(objects.OfType<V1ConfigMap>(), c => c.Metadata.Labels?.ContainsKey("grafana_dashboard") == true);
        Assert.Equal("1", map.Metadata.Labels["grafana_dashboard"]);
        Assert.Equal("ingest", map.Metadata.Labels["app.kubernetes.io/name"]);
        var shipped = JsonNode.Parse(map.Data["platform-ingestion.json"]);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(await File.ReadAllTextAsync(DashboardFile)), shipped), "the ConfigMap's dashboard differs from the file");
    }

    [Fact]
    public async Task Its_labels_and_annotations_follow_the_values()
    {
        using var values = new TempValues("grafanaDashboard:\n  enabled: true\n  labels:\n    dashboards: platform\n  annotations:\n    grafana_folder: Platform\n");

        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", "default-values.yaml"), values.Path);

        var map = Assert.Single(objects.OfType<V1ConfigMap>(), c => c.Data?.ContainsKey("platform-ingestion.json") == true);
        Assert.Equal("platform", map.Metadata.Labels["dashboards"]);
        Assert.Equal("Platform", map.Metadata.Annotations["grafana_folder"]);
    }

    [Fact]
    public void Every_line_of_the_dashboard_fits_the_rendered_manifests_lint()
    {
        // The ConfigMap embeds the file line by line, indented by 4, and rendered manifests are linted at 160 columns.
        var lines = File.ReadAllLines(DashboardFile);

        Assert.All(lines.Select((line, i) => (Number: i + 1, line.Length)), line =>
            Assert.True(line.Length + 4 <= 160, $"dashboards/platform-ingestion.json line {line.Number} is {line.Length} characters; keep it under 156"));
    }

    [Fact]
    public void The_dashboard_reads_from_the_datasource_variable_it_declares()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(DashboardFile))!;

        var variables = dashboard["templating"]!["list"]!.AsArray().Select(v => (string)v!["name"]!).ToList();
        Assert.Contains("datasource", variables);
        Assert.All(dashboard["panels"]!.AsArray(), panel =>
            Assert.Equal("${datasource}", (string?)panel!["datasource"]?["uid"] ?? (string?)panel!["datasource"]));
    }
}
