using System.Diagnostics.Metrics;
using Yarp.ReverseProxy;

namespace Platform.Gateway.Proxy;

/// <summary>
/// The ingest cluster as YARP sees it: destinations known and destinations healthy (active and passive checks
/// combined). Zero healthy destinations means every request is failing; fewer than known means a pod is out.
/// </summary>
internal sealed class UpstreamHealthMetrics
{
    public UpstreamHealthMetrics(IMeterFactory meters, IProxyStateLookup proxyState)
    {
        var meter = meters.Create("Platform.Gateway");
        meter.CreateObservableGauge("platform.gateway.upstream.destinations", () => Count(proxyState, healthyOnly: false), "{destination}",
            "Ingest destinations known to the gateway");
        meter.CreateObservableGauge("platform.gateway.upstream.healthy_destinations", () => Count(proxyState, healthyOnly: true), "{destination}",
            "Ingest destinations the gateway currently sends traffic to");
    }

    private static int Count(IProxyStateLookup proxyState, bool healthyOnly)
    {
        if (!proxyState.TryGetCluster(IngestRoutes.ClusterId, out var cluster))
        {
            return 0;
        }

        return healthyOnly ? cluster.DestinationsState.AvailableDestinations.Count : cluster.DestinationsState.AllDestinations.Count;
    }
}
