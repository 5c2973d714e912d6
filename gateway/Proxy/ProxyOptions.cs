using Platform.Gateway.Hosting;

namespace Platform.Gateway.Proxy;

/// <summary>Where ingest runs and how the gateway talks to it. Section "Proxy".</summary>
internal sealed class ProxyOptions : IValidatedOptions
{
    public const string Section = "Proxy";

    /// <summary>
    /// Base addresses of the ingest instances (http://host:port). With <see cref="UseDnsDestinations"/>, a host
    /// name here (a Kubernetes headless service) is resolved to every address behind it.
    /// </summary>
    public IList<string> IngestAddresses { get; } = [];

    /// <summary>Resolve the host names of <see cref="IngestAddresses"/> into one destination per IP address, refreshed periodically.</summary>
    public bool UseDnsDestinations { get; set; }

    /// <summary>How often DNS destinations are resolved again.</summary>
    public TimeSpan DnsRefreshPeriod { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Probe every destination's readiness endpoint and stop sending to those that fail.</summary>
    public bool ActiveHealthChecks { get; set; } = true;

    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The readiness path probed on each destination (ingest answers 200 only while its storage answers).</summary>
    public string HealthCheckPath { get; set; } = "/healthz/ready";

    /// <summary>Take a destination out for <see cref="ReactivationPeriod"/> when too many of its requests fail at the transport level.</summary>
    public bool PassiveHealthChecks { get; set; } = true;

    public TimeSpan ReactivationPeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time to open a TCP connection to ingest.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Longest silence on a forwarded request before it is cancelled (503 with Retry-After to the client). Above
    /// ingest's own waits (its insert timeout, 30 s), so ingest answers its 503 itself.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The Retry-After of the 503 the gateway answers when no ingest instance could answer the request.</summary>
    public TimeSpan UnavailableRetryAfter { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a pooled connection may live; bounded so that changes behind a name are picked up.</summary>
    public TimeSpan PooledConnectionLifetime { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Connections to one ingest instance; 0 means no limit.</summary>
    public int MaxConnectionsPerServer { get; set; }

    public IEnumerable<string> Problems()
    {
        if (IngestAddresses.Count == 0)
        {
            yield return $"{Section}:IngestAddresses must list at least one ingest base address (e.g. http://127.0.0.1:8081).";
        }

        for (var i = 0; i < IngestAddresses.Count; i++)
        {
            if (!Uri.TryCreate(IngestAddresses[i], UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                || uri.PathAndQuery != "/")
            {
                yield return $"{Section}:IngestAddresses:{i} must be an absolute http(s) address without a path (got '{IngestAddresses[i]}').";
            }
        }

        if (!HealthCheckPath.StartsWith('/'))
        {
            yield return $"{Section}:HealthCheckPath must start with '/' (got '{HealthCheckPath}').";
        }

        foreach (var (key, value) in new[]
        {
            (nameof(DnsRefreshPeriod), DnsRefreshPeriod),
            (nameof(HealthCheckInterval), HealthCheckInterval),
            (nameof(HealthCheckTimeout), HealthCheckTimeout),
            (nameof(ReactivationPeriod), ReactivationPeriod),
            (nameof(ConnectTimeout), ConnectTimeout),
            (nameof(RequestTimeout), RequestTimeout),
            (nameof(UnavailableRetryAfter), UnavailableRetryAfter),
            (nameof(PooledConnectionLifetime), PooledConnectionLifetime),
            (nameof(PooledConnectionIdleTimeout), PooledConnectionIdleTimeout),
        })
        {
            if (value <= TimeSpan.Zero)
            {
                yield return $"{Section}:{key} must be a positive duration (got {value:c}).";
            }
        }

        if (MaxConnectionsPerServer < 0)
        {
            yield return $"{Section}:MaxConnectionsPerServer must be 0 (no limit) or more (got {MaxConnectionsPerServer}).";
        }
    }
}
