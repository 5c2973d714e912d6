using System.Text.Json.Nodes;
using k8s.Models;

namespace Platform.Tests.Deployment.Charts;

/// <summary>
/// Write keys reach both services from an existing Secret: mounted as a directory (a subPath mount never sees the
/// Secret change, and revoking a key must not wait for a restart) and named by the settings' WriteKeys:File.
/// </summary>
public sealed class WriteKeySecretTests
{
    [Theory]
    [InlineData("gateway")]
    [InlineData("ingest")]
    public async Task The_production_values_mount_the_write_key_secret_as_a_directory_the_settings_point_into(string chart)
    {
        var objects = await ChartRenderer.RenderAsync(chart, ValueSets.PathOf(chart, "production-values.yaml"));

        var pod = PodOf(objects);
        var volume = Assert.Single(pod.Volumes, v => v.Name == "write-keys");
        Assert.Equal("platform-write-keys", volume.Secret.SecretName);
        var mount = Assert.Single(pod.Containers.Single().VolumeMounts, m => m.Name == "write-keys");
        Assert.Null(mount.SubPath);
        Assert.True(mount.ReadOnlyProperty);
        Assert.Equal($"{mount.MountPath}/write-keys.json", Settings(objects)["WriteKeys"]?["File"]?.GetValue<string>());
    }

    [Theory]
    [InlineData("gateway")]
    [InlineData("ingest")]
    public async Task Without_a_write_key_secret_nothing_is_mounted_and_no_key_file_is_named(string chart)
    {
        var objects = await ChartRenderer.RenderAsync(chart, ValueSets.PathOf(chart, "default-values.yaml"));

        Assert.DoesNotContain(PodOf(objects).Volumes, v => v.Name == "write-keys");
        Assert.Null(Settings(objects)["WriteKeys"]);
    }

    private static V1PodSpec PodOf(IEnumerable<object> objects) =>
        objects.OfType<V1Deployment>().Select(d => d.Spec.Template.Spec)
            .Concat(objects.OfType<V1StatefulSet>().Select(s => s.Spec.Template.Spec))
            .Single();

    private static JsonNode Settings(IEnumerable<object> objects) =>
        JsonNode.Parse(objects.OfType<V1ConfigMap>().Single(c => c.Data.Keys.Any(k => k.StartsWith("appsettings.", StringComparison.Ordinal)))
            .Data.Single(kv => kv.Key.StartsWith("appsettings.", StringComparison.Ordinal)).Value)!;
}
