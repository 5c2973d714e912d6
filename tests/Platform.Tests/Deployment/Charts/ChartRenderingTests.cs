using System.Text.Json.Nodes;
using k8s.Models;

namespace Platform.Tests.Deployment.Charts;

/// <summary>Every value set renders (helm template, or tools/chart-render) to objects that load strictly.</summary>
public sealed class ChartRenderingTests
{
    [Theory]
    [MemberData(nameof(ValueSets.All), MemberType = typeof(ValueSets))]
    public async Task Every_value_set_renders_to_kubernetes_objects_with_only_known_fields(string chart, string valueSet)
    {
        var objects = await ChartRenderer.RenderAsync(chart, ValueSets.PathOf(chart, valueSet));

        Workload.Of(objects);
        Assert.All(objects.Cast<k8s.IKubernetesObject<V1ObjectMeta>>(), o =>
        {
            Assert.False(string.IsNullOrEmpty(o.Metadata.Name));
            Assert.Equal(ChartRenderer.Namespace, o.Metadata.NamespaceProperty);
            Assert.Equal("Helm", o.Metadata.Labels["app.kubernetes.io/managed-by"]);
        });
    }

    [Fact]
    public void A_misspelled_field_fails_strict_loading()
    {
        const string Manifest = """
            apiVersion: v1
            kind: Service
            metadata:
              name: x
            spec:
              selectr:
                app: x
            """;

        Assert.ThrowsAny<Exception>(() => ChartRenderer.Load(Manifest));
    }

    [Fact]
    public void An_unknown_kind_fails_loading()
    {
        const string Manifest = """
            apiVersion: apps/v1
            kind: Deploymnet
            metadata:
              name: x
            """;

        Assert.ThrowsAny<Exception>(() => ChartRenderer.Load(Manifest));
    }

    [Theory]
    [MemberData(nameof(ValueSets.ChartNames), MemberType = typeof(ValueSets))]
    public async Task Rendering_without_an_issuer_fails_naming_the_value(string chart)
    {
        var failure = await Assert.ThrowsAsync<ChartRenderException>(() => ChartRenderer.RenderAsync(chart));

        Assert.Contains("auth.issuer is required", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ValueSets.ChartNames), MemberType = typeof(ValueSets))]
    public async Task Rendering_without_keys_or_an_authority_fails(string chart)
    {
        using var values = new TempValues("auth:\n  issuer: https://auth.example.com/\n");

        var failure = await Assert.ThrowsAsync<ChartRenderException>(() => ChartRenderer.RenderAsync(chart, values.Path));

        Assert.Contains("auth.publicKeys.existingSecret", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ingest_refuses_to_render_two_pods_on_embedded_DuckDB()
    {
        using var values = new TempValues("replicaCount: 2\n");

        var failure = await Assert.ThrowsAsync<ChartRenderException>(() => ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", "default-values.yaml"), values.Path));

        Assert.Contains("storage.backend DuckDb", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ingest_on_ClickHouse_refuses_to_render_without_its_secret()
    {
        using var values = new TempValues("storage:\n  backend: ClickHouse\n");

        var failure = await Assert.ThrowsAsync<ChartRenderException>(() => ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", "default-values.yaml"), values.Path));

        Assert.Contains("storage.clickhouse.existingSecret", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_gateway_default_address_is_the_headless_service_of_an_ingest_release_named_ingest()
    {
        var gateway = await ChartRenderer.RenderAsync("gateway", ValueSets.PathOf("gateway", "default-values.yaml"));
        var ingest = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", "default-values.yaml"));

        var proxy = Settings(gateway)["Proxy"]!;
        var address = new Uri(Assert.Single(proxy["IngestAddresses"]!.AsArray())!.GetValue<string>());
        Assert.True(proxy["UseDnsDestinations"]!.GetValue<bool>());
        var headless = Assert.Single(ingest.OfType<V1Service>(), s => s.Spec.ClusterIP == "None");
        Assert.Equal(headless.Metadata.Name, address.Host);
        Assert.Equal(headless.Spec.Ports.Single().Port, address.Port);
    }

    [Fact]
    public async Task Production_ingest_settings_name_ClickHouse_and_Redis_and_take_their_connection_strings_from_secrets()
    {
        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", "production-values.yaml"));

        var settings = Settings(objects);
        Assert.Equal("ClickHouse", settings["Storage"]!["Backend"]!.GetValue<string>());
        Assert.Equal("Redis", settings["Dedup"]!["Backend"]!.GetValue<string>());
        var container = Workload.Of(objects).Container;
        Assert.Equal("platform-clickhouse", container.Env.Single(e => e.Name == "Storage__ClickHouse__ConnectionString").ValueFrom.SecretKeyRef.Name);
        Assert.Equal("platform-redis", container.Env.Single(e => e.Name == "Dedup__Redis__ConnectionString").ValueFrom.SecretKeyRef.Name);
        // The shared Redis of the cluster-wide event limits.
        Assert.Equal("platform-redis", container.Env.Single(e => e.Name == "Redis__ConnectionString").ValueFrom.SecretKeyRef.Name);
    }

    [Fact]
    public async Task Without_a_redis_secret_the_ingest_event_limits_stay_per_pod()
    {
        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", "default-values.yaml"));

        Assert.DoesNotContain(Workload.Of(objects).Container.Env, e => e.Name == "Redis__ConnectionString");
        Assert.True(Settings(objects)["EventLimits"]!["Enabled"]!.GetValue<bool>());
    }

    [Theory]
    [MemberData(nameof(ValueSets.All), MemberType = typeof(ValueSets))]
    public async Task Secrets_are_only_referenced_never_rendered(string chart, string valueSet)
    {
        var objects = await ChartRenderer.RenderAsync(chart, ValueSets.PathOf(chart, valueSet));

        Assert.DoesNotContain(objects, o => o is V1Secret);
        var env = Workload.Of(objects).Pod.Containers.SelectMany(c => c.Env ?? []);
        Assert.All(env.Where(e => e.Name.EndsWith("ConnectionString", StringComparison.Ordinal)), e => Assert.NotNull(e.ValueFrom?.SecretKeyRef));
        Assert.DoesNotContain("ConnectionString", Settings(objects).ToJsonString(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ValueSets.ChartNames), MemberType = typeof(ValueSets))]
    public async Task A_settings_change_changes_the_config_checksum_that_rolls_the_pods(string chart)
    {
        using var changed = new TempValues("settings:\n  Logging:\n    LogLevel:\n      Default: Debug\n");
        var before = await ChartRenderer.RenderAsync(chart, ValueSets.PathOf(chart, "default-values.yaml"));
        var after = await ChartRenderer.RenderAsync(chart, ValueSets.PathOf(chart, "default-values.yaml"), changed.Path);

        static string Checksum(IEnumerable<object> objects) =>
            Workload.Of(objects).Template.Metadata.Annotations["checksum/config"];

        Assert.Matches("^[0-9a-f]{64}$", Checksum(before));
        Assert.NotEqual(Checksum(before), Checksum(after));
        Assert.Equal("Debug", Settings(after)["Logging"]!["LogLevel"]!["Default"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(ValueSets.All), MemberType = typeof(ValueSets))]
    public async Task The_notes_render(string chart, string valueSet)
    {
        var notes = await ChartRenderer.RenderNotesAsync(chart, ValueSets.PathOf(chart, valueSet));
        if (notes is null)
        {
            return; // helm template prints no notes; the in-repo renderer does.
        }

        Assert.Contains(chart, notes, StringComparison.Ordinal);
        Assert.DoesNotContain("<no value>", notes, StringComparison.Ordinal);
    }

    /// <summary>The settings file the chart's ConfigMap holds (not the dashboard's ConfigMap, when that is on).</summary>
    internal static JsonObject Settings(IEnumerable<object> objects)
    {
        var map = SettingsMap(objects);
        var file = Assert.Single(map.Data);
        Assert.Matches(@"^appsettings\.[A-Za-z0-9_-]+\.json$", file.Key);
        return JsonNode.Parse(file.Value)!.AsObject();
    }

    internal static V1ConfigMap SettingsMap(IEnumerable<object> objects) =>
        objects.OfType<V1ConfigMap>().Single(map => map.Data?.Keys.Any(key => key.StartsWith("appsettings.", StringComparison.Ordinal)) == true);
}

/// <summary>A values file in the temporary directory, deleted on dispose.</summary>
internal sealed class TempValues : IDisposable
{
    public TempValues(string yaml)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"platform-values-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(Path, yaml);
    }

    public string Path { get; }

    public void Dispose() => File.Delete(Path);
}
