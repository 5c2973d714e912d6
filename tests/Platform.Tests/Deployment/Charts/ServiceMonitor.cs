using k8s;
using k8s.Models;

namespace Platform.Tests.Deployment.Charts;

/// <summary>
/// The Prometheus Operator's ServiceMonitor, as much of it as the charts write, so strict loading catches a
/// misspelled field here too (KubernetesClient knows only the built-in kinds).
/// </summary>
public sealed class ServiceMonitor : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = "";

    public string Kind { get; set; } = "";

    public V1ObjectMeta Metadata { get; set; } = new();

    public ServiceMonitorSpec Spec { get; set; } = new();
}

public sealed class ServiceMonitorSpec
{
    public V1LabelSelector Selector { get; set; } = new();

    public IList<ServiceMonitorEndpoint> Endpoints { get; set; } = [];
}

public sealed class ServiceMonitorEndpoint
{
    public string? Port { get; set; }

    public string? Path { get; set; }

    public string? Interval { get; set; }

    public string? ScrapeTimeout { get; set; }
}
