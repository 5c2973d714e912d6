using k8s.Models;

namespace Platform.Tests.Deployment.Charts;

/// <summary>
/// What every rendered value set must hold: restricted pods, probes on the health endpoints, resources, selectors
/// that match, and HPA/PDB/NetworkPolicy exactly when the values ask for them.
/// </summary>
public sealed class ChartPolicyTests
{
    [Theory]
    [MemberData(nameof(ValueSets.All), MemberType = typeof(ValueSets))]
    public async Task Every_pod_runs_restricted_non_root_with_a_read_only_root_filesystem(string chart, string valueSet)
    {
        var objects = await ChartRenderer.RenderAsync(chart, ValueSets.PathOf(chart, valueSet));

        var pods = objects.OfType<V1Pod>().Select(p => p.Spec).Prepend(Workload.Of(objects).Pod).ToList();
        Assert.NotEmpty(pods);
        foreach (var pod in pods)
        {
            Assert.True(pod.SecurityContext?.RunAsNonRoot, "pod securityContext.runAsNonRoot");
            Assert.Equal("RuntimeDefault", pod.SecurityContext?.SeccompProfile?.Type);
            Assert.False(pod.AutomountServiceAccountToken ?? true, "automountServiceAccountToken: false");
            Assert.All(pod.Containers, container =>
            {
                var security = container.SecurityContext;
                Assert.NotNull(security);
                Assert.True(security.ReadOnlyRootFilesystem, $"{container.Name}: readOnlyRootFilesystem");
                Assert.False(security.AllowPrivilegeEscalation ?? true, $"{container.Name}: allowPrivilegeEscalation false");
                Assert.Contains("ALL", security.Capabilities?.Drop ?? []);
                Assert.Empty(security.Capabilities?.Add ?? []);
                Assert.True((security.RunAsNonRoot ?? pod.SecurityContext?.RunAsNonRoot) == true);
                Assert.NotNull(container.Resources?.Limits);
            });
        }
    }

    [Theory]
    [MemberData(nameof(ValueSets.All), MemberType = typeof(ValueSets))]
    public async Task The_service_has_probes_on_its_health_endpoints_resources_and_a_writable_tmp(string chart, string valueSet)
    {
        var objects = await ChartRenderer.RenderAsync(chart, ValueSets.PathOf(chart, valueSet));

        var pod = Workload.Of(objects).Pod;
        var container = Assert.Single(pod.Containers);
        Assert.Equal("/healthz/live", container.LivenessProbe?.HttpGet?.Path);
        Assert.Equal("/healthz/ready", container.ReadinessProbe?.HttpGet?.Path);
        Assert.Equal("http", container.ReadinessProbe!.HttpGet!.Port.Value);
        Assert.Contains(container.Ports, p => p.Name == "http");
        foreach (var resource in new[] { "cpu", "memory" })
        {
            Assert.True(container.Resources.Requests.ContainsKey(resource), $"requests.{resource}");
        }

        Assert.True(container.Resources.Limits.ContainsKey("memory"), "limits.memory");
        var tmp = Assert.Single(container.VolumeMounts, m => m.MountPath == "/tmp");
        Assert.NotNull(pod.Volumes.Single(v => v.Name == tmp.Name).EmptyDir);
    }

    [Theory]
    [MemberData(nameof(ValueSets.All), MemberType = typeof(ValueSets))]
    public async Task Every_selector_matches_the_pod_labels(string chart, string valueSet)
    {
        var objects = await ChartRenderer.RenderAsync(chart, ValueSets.PathOf(chart, valueSet));

        var workload = Workload.Of(objects);
        var podLabels = workload.Template.Metadata.Labels;
        AssertSelects(workload.Selector.MatchLabels, podLabels, $"{workload.Kind} selector");
        foreach (var service in objects.OfType<V1Service>())
        {
            AssertSelects(service.Spec.Selector, podLabels, $"Service {service.Metadata.Name}");
            Assert.All(service.Spec.Ports, p => Assert.Equal("http", p.TargetPort.Value));
        }

        foreach (var pdb in objects.OfType<V1PodDisruptionBudget>())
        {
            AssertSelects(pdb.Spec.Selector.MatchLabels, podLabels, "PodDisruptionBudget selector");
        }

        foreach (var policy in objects.OfType<V1NetworkPolicy>())
        {
            AssertSelects(policy.Spec.PodSelector.MatchLabels, podLabels, "NetworkPolicy podSelector");
        }

        foreach (var monitor in objects.OfType<ServiceMonitor>())
        {
            AssertSelects(monitor.Spec.Selector.MatchLabels, objects.OfType<V1Service>().First().Metadata.Labels, "ServiceMonitor selector");
        }

        foreach (var hpa in objects.OfType<V2HorizontalPodAutoscaler>())
        {
            Assert.Equal(workload.Kind, hpa.Spec.ScaleTargetRef.Kind);
            Assert.Equal("apps/v1", hpa.Spec.ScaleTargetRef.ApiVersion);
            Assert.Equal(workload.Metadata.Name, hpa.Spec.ScaleTargetRef.Name);
        }

        Assert.Equal(workload.Pod.ServiceAccountName, objects.OfType<V1ServiceAccount>().Single().Metadata.Name);
        Assert.False(objects.OfType<V1ServiceAccount>().Single().AutomountServiceAccountToken ?? true);
    }

    [Theory]
    [MemberData(nameof(ValueSets.All), MemberType = typeof(ValueSets))]
    public async Task The_autoscaler_exists_exactly_when_autoscaling_is_on_and_then_owns_the_replica_count(string chart, string valueSet)
    {
        var values = ValuesYaml.Merged(ChartRenderer.ChartDirectory(chart), ValueSets.PathOf(chart, valueSet));
        var objects = await ChartRenderer.RenderAsync(chart, ValueSets.PathOf(chart, valueSet));

        var autoscaling = values["autoscaling"]!["enabled"]!.GetValue<bool>();
        var workload = Workload.Of(objects);
        var hpa = objects.OfType<V2HorizontalPodAutoscaler>().ToList();
        if (autoscaling)
        {
            Assert.Single(hpa);
            Assert.Null(workload.Replicas);
        }
        else
        {
            Assert.Empty(hpa);
            Assert.Equal((int)values["replicaCount"]!.GetValue<long>(), workload.Replicas);
        }
    }

    [Theory]
    [MemberData(nameof(ValueSets.All), MemberType = typeof(ValueSets))]
    public async Task The_disruption_budget_exists_exactly_when_more_than_one_pod_can_run(string chart, string valueSet)
    {
        var values = ValuesYaml.Merged(ChartRenderer.ChartDirectory(chart), ValueSets.PathOf(chart, valueSet));
        var objects = await ChartRenderer.RenderAsync(chart, ValueSets.PathOf(chart, valueSet));

        var morePods = values["autoscaling"]!["enabled"]!.GetValue<bool>() || values["replicaCount"]!.GetValue<long>() > 1;
        Assert.Equal(morePods, objects.OfType<V1PodDisruptionBudget>().Any());
    }

    [Theory]
    [MemberData(nameof(ValueSets.All), MemberType = typeof(ValueSets))]
    public async Task The_network_policy_exists_exactly_when_enabled(string chart, string valueSet)
    {
        var values = ValuesYaml.Merged(ChartRenderer.ChartDirectory(chart), ValueSets.PathOf(chart, valueSet));
        var objects = await ChartRenderer.RenderAsync(chart, ValueSets.PathOf(chart, valueSet));

        Assert.Equal(values["networkPolicy"]!["enabled"]!.GetValue<bool>(), objects.OfType<V1NetworkPolicy>().Any());
    }

    [Theory]
    [MemberData(nameof(ValueSets.All), MemberType = typeof(ValueSets))]
    public async Task Ingest_admits_only_gateway_pods_when_its_network_policy_is_on(string chart, string valueSet)
    {
        if (chart != "ingest")
        {
            return;
        }

        var values = ValuesYaml.Merged(ChartRenderer.ChartDirectory(chart), ValueSets.PathOf(chart, valueSet));
        var objects = await ChartRenderer.RenderAsync(chart, ValueSets.PathOf(chart, valueSet));
        var policy = objects.OfType<V1NetworkPolicy>().SingleOrDefault();
        if (policy is null)
        {
            return;
        }

        var gatewayLabels = values["networkPolicy"]!["gatewayPodLabels"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>());
        Assert.Equal(["Ingress"], policy.Spec.PolicyTypes);
        var rule = Assert.Single(policy.Spec.Ingress);
        var peer = Assert.Single(rule.FromProperty ?? []);
        Assert.Null(peer.IpBlock);
        Assert.Equal(gatewayLabels, peer.PodSelector?.MatchLabels);
        Assert.Contains("app.kubernetes.io/name", peer.PodSelector!.MatchLabels.Keys);
        Assert.Equal("gateway", peer.PodSelector.MatchLabels["app.kubernetes.io/name"]);
        Assert.Equal("http", Assert.Single(rule.Ports).Port.Value);
    }

    [Theory]
    [MemberData(nameof(ValueSets.All), MemberType = typeof(ValueSets))]
    public async Task The_service_monitor_selects_one_service_so_each_pod_is_scraped_once(string chart, string valueSet)
    {
        var objects = await ChartRenderer.RenderAsync(chart, ValueSets.PathOf(chart, valueSet));

        foreach (var monitor in objects.OfType<ServiceMonitor>())
        {
            Assert.Single(objects.OfType<V1Service>(), s => Selects(monitor.Spec.Selector, s.Metadata.Labels));
        }
    }

    [Fact]
    public async Task The_gateway_pods_carry_the_labels_the_ingest_policy_admits()
    {
        var gateway = await ChartRenderer.RenderAsync("gateway", ValueSets.PathOf("gateway", "production-values.yaml"));
        var ingest = await ChartRenderer.RenderAsync("ingest", ValueSets.PathOf("ingest", "production-values.yaml"));

        var admitted = ingest.OfType<V1NetworkPolicy>().Single().Spec.Ingress.Single().FromProperty.Single().PodSelector.MatchLabels;
        var gatewayPodLabels = Workload.Of(gateway).Template.Metadata.Labels;
        AssertSelects(admitted, gatewayPodLabels, "ingest NetworkPolicy peer");
    }

    /// <summary>A label selector as the API server evaluates it: every matchLabels pair and every matchExpression.</summary>
    private static bool Selects(V1LabelSelector selector, IDictionary<string, string>? labels)
    {
        labels ??= new Dictionary<string, string>();
        var byLabels = (selector.MatchLabels ?? new Dictionary<string, string>()).All(p => labels.TryGetValue(p.Key, out var v) && v == p.Value);
        var byExpressions = (selector.MatchExpressions ?? []).All(e => e.OperatorProperty switch
        {
            "In" => labels.TryGetValue(e.Key, out var v) && e.Values.Contains(v),
            "NotIn" => !labels.TryGetValue(e.Key, out var v) || !e.Values.Contains(v),
            "Exists" => labels.ContainsKey(e.Key),
            "DoesNotExist" => !labels.ContainsKey(e.Key),
            _ => throw new InvalidOperationException($"unknown selector operator {e.OperatorProperty}"),
        });
        return byLabels && byExpressions;
    }

    private static void AssertSelects(IDictionary<string, string>? selector, IDictionary<string, string> labels, string what)
    {
        Assert.True(selector is { Count: > 0 }, $"{what} is empty");
        foreach (var (key, value) in selector)
        {
            Assert.True(labels.TryGetValue(key, out var actual) && actual == value, $"{what} wants {key}={value}; the pods have {(actual ?? "nothing")}");
        }
    }
}
