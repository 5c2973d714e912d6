using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Segment;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Platform.Gateway.Proxy;

/// <summary>
/// The gateway's whole routing table, built in code from <see cref="ProxyOptions"/>: the routes are part of the
/// product (each with its authorization policy), only the cluster's addresses and health settings are configuration.
/// Built on first use rather than at registration, so it reflects the configuration the host ends up with.
/// </summary>
internal sealed class IngestRoutes(IOptions<ProxyOptions> options) : IProxyConfigProvider
{
    public const string ClusterId = "ingest";

    /// <summary>Where ingest serves its OpenAPI document, and so where the gateway serves it.</summary>
    public const string OpenApiDocumentPath = "/openapi/{documentName}.json";

    /// <summary>YARP's name for "no authorization".</summary>
    private const string AnonymousPolicy = "Anonymous";

    private readonly Lazy<IProxyConfig> _config = new(() => Build(options.Value));

    public IProxyConfig GetConfig() => _config.Value;

    internal static IProxyConfig Build(ProxyOptions options)
    {
        RouteConfig[] routes =
        [
            Route("group-api", "/api/group", HttpMethods.Post, PlatformPolicies.Ingest),

            // Segment-compatible ingestion: a write key or a token; the same rate limits and body cap as /api/group.
            Route("segment-batch", SegmentRoutes.Batch, HttpMethods.Post, PlatformPolicies.IngestWithWriteKey),
            Route("segment-group", SegmentRoutes.Group, HttpMethods.Post, PlatformPolicies.IngestWithWriteKey),
            Route("segment-other", SegmentRoutes.OtherCall, HttpMethods.Post, PlatformPolicies.IngestWithWriteKey),
            Route("groups", "/api/groups", HttpMethods.Get, PlatformPolicies.AnalyticsRead),
            Route("groups-rest", "/api/groups/{**rest}", HttpMethods.Get, PlatformPolicies.AnalyticsRead),
            Route("users-rest", "/api/users/{**rest}", HttpMethods.Get, PlatformPolicies.AnalyticsRead),
            Route("traits-rest", "/api/traits/{**rest}", HttpMethods.Get, PlatformPolicies.AnalyticsRead),

            // The API's OpenAPI document, which ingest generates from its endpoints and which describes the gateway's own
            // answers too (docs/decisions.md): anyone may read it, as anyone may read the README.
            Route("openapi", OpenApiDocumentPath, HttpMethods.Get, AnonymousPolicy),
        ];

        var destinations = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.IngestAddresses.Count; i++)
        {
            destinations[$"ingest-{i}"] = new DestinationConfig { Address = options.IngestAddresses[i] };
        }

        var cluster = new ClusterConfig
        {
            ClusterId = ClusterId,
            Destinations = destinations,
            LoadBalancingPolicy = "PowerOfTwoChoices",
            HealthCheck = new HealthCheckConfig
            {
                Active = new ActiveHealthCheckConfig
                {
                    Enabled = options.ActiveHealthChecks,
                    Interval = options.HealthCheckInterval,
                    Timeout = options.HealthCheckTimeout,
                    Path = options.HealthCheckPath,
                    Policy = "ConsecutiveFailures",
                },
                Passive = new PassiveHealthCheckConfig
                {
                    Enabled = options.PassiveHealthChecks,
                    Policy = "TransportFailureRate",
                    ReactivationPeriod = options.ReactivationPeriod,
                },
            },
            HttpRequest = new ForwarderRequestConfig
            {
                ActivityTimeout = options.RequestTimeout,

                // Ingest speaks HTTP/1.1 on a private network; no TLS, so no HTTP/2 negotiation to attempt.
                Version = System.Net.HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
            },
        };

        return new StaticConfig(routes, [cluster]);
    }

    private static RouteConfig Route(string id, string path, string method, string policy) => new()
    {
        RouteId = id,
        ClusterId = ClusterId,
        AuthorizationPolicy = policy,
        Match = new RouteMatch { Path = path, Methods = [method] },
    };

    private sealed class StaticConfig(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters) : IProxyConfig
    {
        public IReadOnlyList<RouteConfig> Routes { get; } = routes;

        public IReadOnlyList<ClusterConfig> Clusters { get; } = clusters;

        public IChangeToken ChangeToken { get; } = new CancellationChangeToken(CancellationToken.None);
    }
}
