using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Platform.Ingest.Log;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Tests.Deployment.Charts;

/// <summary>
/// Ingest on ClickHouse acks once events are fsynced into a write-ahead log on local disk, so the chart must give each
/// pod a volume of its own that outlives the pod, point the log at it, size the log to fit it, and let a stopping pod
/// ship its log before the kubelet kills it.
/// </summary>
public sealed class IngestLogVolumeTests
{
    private const long Mi = 1L << 20;

    public static TheoryData<string> IngestSets => new(ValueSets.All.Where(row => (string)row[0] == "ingest").Select(row => (string)row[1]));

    public static TheoryData<string> ClickHouseSets => new(ValueSets.All
        .Where(row => (string)row[0] == "ingest")
        .Select(row => (string)row[1])
        .Where(set => Values(set)["storage"]!["backend"]!.GetValue<string>() == "ClickHouse"));

    [Fact]
    public void Some_value_sets_run_ingest_on_ClickHouse()
    {
        Assert.NotEmpty(ClickHouseSets);
    }

    [Theory]
    [MemberData(nameof(ClickHouseSets))]
    public async Task On_ClickHouse_each_pod_keeps_its_log_on_a_claim_of_its_own(string valueSet)
    {
        var values = Values(valueSet);
        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", valueSet));

        var statefulSet = objects.OfType<V1StatefulSet>().Single();
        var claim = Assert.Single(statefulSet.Spec.VolumeClaimTemplates);
        Assert.Equal(["ReadWriteOnce"], claim.Spec.AccessModes);
        Assert.Equal(values["log"]!["persistence"]!["size"]!.GetValue<string>(), claim.Spec.Resources.Requests["storage"].ToString());
        var storageClass = values["log"]!["persistence"]!["storageClass"]!.GetValue<string>();
        Assert.Equal(storageClass.Length == 0 ? null : storageClass, claim.Spec.StorageClassName);

        var pod = statefulSet.Spec.Template.Spec;
        Assert.DoesNotContain(pod.Volumes, v => v.Name == claim.Metadata.Name); // the claim, not a pod volume, backs the mount
        var mount = Assert.Single(pod.Containers.Single().VolumeMounts, m => m.Name == claim.Metadata.Name);
        Assert.NotEqual(true, mount.ReadOnlyProperty);
        var directory = Env(statefulSet, "Log__Directory");
        Assert.StartsWith(mount.MountPath.TrimEnd('/') + "/", directory, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ClickHouseSets))]
    public async Task Scaling_down_or_uninstalling_keeps_the_claims_unless_asked(string valueSet)
    {
        var values = Values(valueSet);
        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", valueSet));

        var retention = objects.OfType<V1StatefulSet>().Single().Spec.PersistentVolumeClaimRetentionPolicy;
        Assert.Equal(values["log"]!["persistence"]!["whenScaled"]!.GetValue<string>(), retention.WhenScaled);
        Assert.Equal(values["log"]!["persistence"]!["whenDeleted"]!.GetValue<string>(), retention.WhenDeleted);
    }

    [Fact]
    public void The_default_keeps_a_scaled_down_pods_claim_so_a_drain_cut_short_loses_nothing()
    {
        var defaults = ValuesYaml.Merged(ChartRenderer.ChartDirectory("ingest"));

        Assert.Equal("Retain", defaults["log"]!["persistence"]!["whenScaled"]!.GetValue<string>());
        Assert.Equal("Retain", defaults["log"]!["persistence"]!["whenDeleted"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(IngestSets))]
    public async Task The_StatefulSet_is_governed_by_the_headless_service(string valueSet)
    {
        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", valueSet));

        var statefulSet = objects.OfType<V1StatefulSet>().Single();
        var headless = objects.OfType<V1Service>().Single(s => s.Metadata.Name == statefulSet.Spec.ServiceName);
        Assert.Equal("None", headless.Spec.ClusterIP);
        Assert.Equal("Parallel", statefulSet.Spec.PodManagementPolicy);
    }

    [Theory]
    [MemberData(nameof(IngestSets))]
    public async Task Claim_templates_carry_only_labels_that_never_change_on_upgrade(string valueSet)
    {
        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", valueSet));

        var statefulSet = objects.OfType<V1StatefulSet>().Single();
        foreach (var claim in statefulSet.Spec.VolumeClaimTemplates ?? [])
        {
            Assert.Equal(statefulSet.Spec.Selector.MatchLabels, claim.Metadata.Labels);
        }
    }

    [Theory]
    [MemberData(nameof(IngestSets))]
    public async Task The_grace_period_outlasts_the_drain_and_the_hosts_ten_seconds_beyond_it(string valueSet)
    {
        var values = Values(valueSet);
        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", valueSet));

        var statefulSet = objects.OfType<V1StatefulSet>().Single();
        var drain = TimeSpan.Parse(Env(statefulSet, "Shipper__DrainTimeout"), CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromSeconds(values["shipper"]!["drainTimeoutSeconds"]!.GetValue<long>()), drain);
        var grace = TimeSpan.FromSeconds(statefulSet.Spec.Template.Spec.TerminationGracePeriodSeconds!.Value);
        Assert.True(grace > drain + TimeSpan.FromSeconds(10), $"grace period {grace} must exceed DrainTimeout {drain} + 10 s");
    }

    [Fact]
    public async Task A_drain_of_most_of_an_hour_is_written_as_a_TimeSpan_the_service_reads()
    {
        using var drain = new TempValues("shipper:\n  drainTimeoutSeconds: 3599\n");
        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", "production-values.yaml"), drain.Path);

        var statefulSet = objects.OfType<V1StatefulSet>().Single();
        Assert.Equal("00:59:59", Env(statefulSet, "Shipper__DrainTimeout"));
        Assert.Equal(3599 + 30, statefulSet.Spec.Template.Spec.TerminationGracePeriodSeconds);
    }

    [Theory]
    [MemberData(nameof(ClickHouseSets))]
    public async Task The_log_fits_its_volume_with_two_segments_and_the_filesystem_reserve_to_spare(string valueSet)
    {
        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", valueSet));

        var statefulSet = objects.OfType<V1StatefulSet>().Single();
        var volume = Bytes(statefulSet.Spec.VolumeClaimTemplates.Single().Spec.Resources.Requests["storage"].ToString());
        var maxBytes = long.Parse(Env(statefulSet, "Log__MaxBytes"), CultureInfo.InvariantCulture);
        var segmentBytes = long.Parse(Env(statefulSet, "Log__SegmentBytes"), CultureInfo.InvariantCulture);
        Assert.True(maxBytes + (2 * segmentBytes) + (volume * 8 / 100) <= volume, $"MaxBytes {maxBytes} + 2 x {segmentBytes} + 8% of {volume}");
    }

    [Theory]
    [MemberData(nameof(ClickHouseSets))]
    public async Task A_starting_pod_has_time_to_check_a_full_log_at_50_MiB_per_second_before_the_startup_probe_gives_up(string valueSet)
    {
        var startup = Values(valueSet)["probes"]!["startup"]!;
        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", valueSet));

        var statefulSet = objects.OfType<V1StatefulSet>().Single();
        var probe = statefulSet.Spec.Template.Spec.Containers.Single().StartupProbe;
        var maxBytes = long.Parse(Env(statefulSet, "Log__MaxBytes"), CultureInfo.InvariantCulture);
        var configured = startup["periodSeconds"]!.GetValue<long>() * startup["failureThreshold"]!.GetValue<long>();
        var budget = (long)probe.PeriodSeconds!.Value * probe.FailureThreshold!.Value;
        Assert.True(budget - configured >= maxBytes / (50 * Mi), $"startup budget {budget} s leaves {budget - configured} s to read {maxBytes} bytes");
    }

    [Theory]
    [MemberData(nameof(ClickHouseSets))]
    public async Task The_services_own_log_checks_accept_what_the_chart_sets(string valueSet)
    {
        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", valueSet));

        var options = new IngestLogOptions();
        Configuration(objects).GetSection(IngestLogOptions.Section).Bind(options);

        Assert.Equal(Env(objects.OfType<V1StatefulSet>().Single(), "Log__Directory"), options.Directory);
        var checks = SectionOptions.Validate<IngestLogOptions, IngestLogOptionsValidator>(IngestLogOptions.Section, options, new IngestLogOptionsRules());
        Assert.False(checks.Failed, checks.FailureMessage);
    }

    [Theory]
    [MemberData(nameof(ClickHouseSets))]
    public async Task Log_settings_under_settings_cannot_move_the_log_off_its_volume(string valueSet)
    {
        using var settings = new TempValues("settings:\n  Log:\n    Directory: data/log\n    MaxBytes: 1099511627776\n");
        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", valueSet), settings.Path);

        var statefulSet = objects.OfType<V1StatefulSet>().Single();
        var configuration = Configuration(objects);
        Assert.Equal(Env(statefulSet, "Log__Directory"), configuration["Log:Directory"]);
        Assert.Equal(Env(statefulSet, "Log__MaxBytes"), configuration["Log:MaxBytes"]);
    }

    [Fact]
    public async Task A_volume_too_small_for_the_log_and_its_spare_room_is_refused_naming_the_value()
    {
        using var small = new TempValues("log:\n  persistence:\n    size: 1Gi\n");

        var failure = await Assert.ThrowsAsync<ChartRenderException>(() =>
            ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", "production-values.yaml"), small.Path));

        Assert.Contains("log.persistence.size 1Gi is too small", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_DuckDb_a_persistent_database_gets_a_claim_template_and_an_existing_claim_a_pod_volume()
    {
        var created = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", "persistence-values.yaml"));
        using var existing = new TempValues("storage:\n  duckdb:\n    persistence:\n      existingClaim: ingest-data\n");
        var reused = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", "persistence-values.yaml"), existing.Path);

        var claim = Assert.Single(created.OfType<V1StatefulSet>().Single().Spec.VolumeClaimTemplates);
        Assert.Equal("20Gi", claim.Spec.Resources.Requests["storage"].ToString());
        var statefulSet = reused.OfType<V1StatefulSet>().Single();
        Assert.Null(statefulSet.Spec.VolumeClaimTemplates);
        Assert.Equal("ingest-data", statefulSet.Spec.Template.Spec.Volumes.Single(v => v.Name == "data").PersistentVolumeClaim.ClaimName);
    }

    [Fact]
    public async Task On_DuckDb_the_log_settings_are_left_to_the_image()
    {
        var objects = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", "default-values.yaml"));

        var env = objects.OfType<V1StatefulSet>().Single().Spec.Template.Spec.Containers.Single().Env;
        Assert.DoesNotContain(env, e => e.Name.StartsWith("Log__", StringComparison.Ordinal));
    }

    private static System.Text.Json.Nodes.JsonObject Values(string valueSet) =>
        ValuesYaml.Merged(ChartRenderer.ChartDirectory("ingest"), ValueSets.PathOf("ingest", valueSet));

    private static string Env(V1StatefulSet statefulSet, string name) =>
        statefulSet.Spec.Template.Spec.Containers.Single().Env.Single(e => e.Name == name).Value;

    /// <summary>What the service reads: the settings file, then the container's environment over it (as the host orders them).</summary>
    private static IConfiguration Configuration(IEnumerable<object> objects)
    {
        var file = Assert.Single(ChartRenderingTests.SettingsMap(objects).Data);
        var env = objects.OfType<V1StatefulSet>().Single().Spec.Template.Spec.Containers.Single().Env
            .Where(e => e.Value is not null)
            .Select(e => KeyValuePair.Create(e.Name.Replace("__", ":", StringComparison.Ordinal), (string?)e.Value));
        return new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(file.Value)))
            .AddInMemoryCollection(env)
            .Build();
    }

    private static long Bytes(string quantity)
    {
        var unit = quantity[^2..] switch
        {
            "Mi" => Mi,
            "Gi" => Mi << 10,
            "Ti" => Mi << 20,
            _ => throw new FormatException($"{quantity}: expected whole Mi, Gi or Ti"),
        };
        return long.Parse(quantity[..^2], CultureInfo.InvariantCulture) * unit;
    }
}
