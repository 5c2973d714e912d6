using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Telemetry;

/// <summary>Section "Telemetry": what the services expose about themselves.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>
    /// Label event metrics with the tenant. Off by default: every tenant adds a time series per metric, so turn it
    /// on only where the number of tenants is small and known.
    /// </summary>
    public bool TenantLabel { get; set; }

    /// <summary>Where Prometheus scrapes.</summary>
    [RegularExpression("^/[A-Za-z0-9/_-]*$", ErrorMessage = "{0} must be an absolute path such as /metrics.")]
    public string MetricsPath { get; set; } = "/metrics";

    /// <summary>
    /// Serve metrics only on this port (the process must listen on it too, e.g. ASPNETCORE_URLS). Set it on the
    /// public gateway so that /metrics is not reachable through the public port; 0 serves metrics on every port.
    /// </summary>
    [Range(0, 65535)]
    public int MetricsPort { get; set; }

    /// <summary>Write logs as one JSON object a line, with scopes (tenant, response_id) and trace ids.</summary>
    public bool JsonLogs { get; set; } = true;
}

[OptionsValidator]
internal sealed partial class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>;
