using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Platform.Ingest.Limits;

/// <summary>
/// Section "EventLimits": per-tenant token buckets counted in events, enforced in ingest where a request's event count
/// is known. The gateway's buckets (section "RateLimiting" there) count requests; a request may carry 1 or 1,000 events.
/// Cluster-wide through the shared Redis (section "Redis") when it is configured, else (and while it does not answer)
/// per instance.
/// </summary>
internal sealed class EventLimitOptions
{
    public const string Section = "EventLimits";

    public bool Enabled { get; set; } = true;

    /// <summary>Sustained events per second for a tenant without an override (fractions allowed).</summary>
    [Range(0.001, 100_000_000)]
    public double EventsPerSecond { get; set; } = 20_000;

    /// <summary>
    /// Events a tenant may send at once after being idle (the bucket's size). A request is admitted while the bucket holds
    /// a token, so any burst of at least 1 lets every request size through.
    /// </summary>
    [Range(1.0, 1_000_000_000)]
    public double Burst { get; set; } = 40_000;

    /// <summary>Per-tenant overrides, keyed by tenant id: <c>EventLimits:Tenants:acme:EventsPerSecond</c>.</summary>
    public IDictionary<string, TenantEventLimit> Tenants { get; } = new Dictionary<string, TenantEventLimit>(StringComparer.Ordinal);

    /// <summary>After a Redis command fails, how long to decide locally before trying Redis again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan RedisRetryInterval { get; set; } = TimeSpan.FromSeconds(5);

    public (double EventsPerSecond, double Burst) LimitFor(string tenant) =>
        Tenants.TryGetValue(tenant, out var limit)
            ? (limit.EventsPerSecond ?? EventsPerSecond, limit.Burst ?? Burst)
            : (EventsPerSecond, Burst);
}

/// <summary>One tenant's override; an unset value falls back to the default.</summary>
internal sealed class TenantEventLimit
{
    public double? EventsPerSecond { get; set; }

    public double? Burst { get; set; }
}

[OptionsValidator]
internal sealed partial class EventLimitOptionsValidator : IValidateOptions<EventLimitOptions>;

/// <summary>The per-tenant overrides, which annotations cannot reach inside a dictionary: each named by its full key.</summary>
internal sealed class EventLimitOptionsRules : IValidateOptions<EventLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, EventLimitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        foreach (var (tenant, limit) in options.Tenants)
        {
            var prefix = $"{EventLimitOptions.Section}:Tenants:{tenant}";
            if (limit.EventsPerSecond is { } rate && (!(rate >= 0.001) || rate > 100_000_000))
            {
                problems.Add($"{prefix}:EventsPerSecond must be between 0.001 and 100000000 (got {rate}).");
            }

            if (limit.Burst is { } burst && (!(burst >= 1) || burst > 1_000_000_000))
            {
                problems.Add($"{prefix}:Burst must be between 1 and 1000000000 (got {burst}).");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
