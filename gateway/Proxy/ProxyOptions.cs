using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Gateway.Proxy;

/// <summary>Where ingest runs and how the gateway talks to it. Section "Proxy".</summary>
internal sealed class ProxyOptions
{
    public const string Section = "Proxy";

    /// <summary>
    /// Base addresses of the ingest instances (http://host:port). With <see cref="UseDnsDestinations"/>, a host
    /// name here (a Kubernetes headless service) is resolved to every address behind it.
    /// </summary>
    [MinLength(1, ErrorMessage = "{0} must list at least one ingest base address (e.g. http://127.0.0.1:8081).")]
    [HttpUrl(BaseAddress = true)]
    public IList<string> IngestAddresses { get; } = [];

    /// <summary>Resolve the host names of <see cref="IngestAddresses"/> into one destination per IP address, refreshed periodically.</summary>
    public bool UseDnsDestinations { get; set; }

    /// <summary>How often DNS destinations are resolved again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan DnsRefreshPeriod { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Probe every destination's readiness endpoint and stop sending to those that fail.</summary>
    public bool ActiveHealthChecks { get; set; } = true;

    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The readiness path probed on each destination (ingest answers 503 there while it cannot take writes).</summary>
    [RegularExpression("^/.*$", ErrorMessage = "{0} must start with '/'.")]
    public string HealthCheckPath { get; set; } = "/healthz/ready";

    /// <summary>Take a destination out for <see cref="ReactivationPeriod"/> when too many of its requests fail at the transport level.</summary>
    public bool PassiveHealthChecks { get; set; } = true;

    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan ReactivationPeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time to open a TCP connection to ingest.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Longest silence on a forwarded request before it is cancelled (503 with Retry-After to the client). Above
    /// ingest's own waits (its insert timeout, 30 s), so ingest answers its 503 itself.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The Retry-After of the 503 the gateway answers when no ingest instance could answer the request.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan UnavailableRetryAfter { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a pooled connection may live; bounded so that changes behind a name are picked up.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan PooledConnectionLifetime { get; set; } = TimeSpan.FromMinutes(5);

    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Connections to one ingest instance; 0 means no limit.</summary>
    [Range(0, int.MaxValue)]
    public int MaxConnectionsPerServer { get; set; }
}

[OptionsValidator]
internal sealed partial class ProxyOptionsValidator : IValidateOptions<ProxyOptions>;
