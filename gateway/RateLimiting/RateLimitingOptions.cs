using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Platform.Gateway.RateLimiting;

/// <summary>Per-tenant token buckets. Section "RateLimiting"; the buckets are checked by <see cref="RateLimitingOptionsRules"/>.</summary>
internal sealed class RateLimitingOptions
{
    public const string Section = "RateLimiting";

    /// <summary>The requests-per-second buckets below; off, no request is refused for its rate here.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Once ingest refuses a tenant for its events-per-second limit, answer that tenant's ingestion requests 429 at the
    /// gateway until the Retry-After ingest gave, without reading or forwarding them (<see cref="EventLimitHolds"/>).
    /// Independent of <see cref="Enabled"/>.
    /// </summary>
    public bool HoldEventLimitedTenants { get; set; } = true;

    /// <summary>Sustained requests per second for a tenant without an override.</summary>
    public double RequestsPerSecond { get; set; } = 100;

    /// <summary>Requests a tenant may send at once after being idle (the bucket's size).</summary>
    public int Burst { get; set; } = 200;

    /// <summary>Per-tenant overrides, keyed by tenant id: <c>RateLimiting:Tenants:acme:RequestsPerSecond</c>.</summary>
    public IDictionary<string, TenantLimit> Tenants { get; } = new Dictionary<string, TenantLimit>(StringComparer.Ordinal);

    /// <summary>After a Redis command fails, how long to use local limits before trying Redis again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan RedisRetryInterval { get; set; } = TimeSpan.FromSeconds(5);

    public TenantLimit LimitFor(string tenant) =>
        Tenants.TryGetValue(tenant, out var limit)
            ? new TenantLimit { RequestsPerSecond = limit.RequestsPerSecond ?? RequestsPerSecond, Burst = limit.Burst ?? Burst }
            : new TenantLimit { RequestsPerSecond = RequestsPerSecond, Burst = Burst };
}

[OptionsValidator]
internal sealed partial class RateLimitingOptionsValidator : IValidateOptions<RateLimitingOptions>;

/// <summary>Each tenant's bucket, its unset values taken from the defaults: a relation annotations cannot state.</summary>
internal sealed class RateLimitingOptionsRules : IValidateOptions<RateLimitingOptions>
{
    private const string Section = RateLimitingOptions.Section;

    public ValidateOptionsResult Validate(string? name, RateLimitingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = TokenBucket.Problems(Section, options.RequestsPerSecond, options.Burst).ToList();
        foreach (var (tenant, limit) in options.Tenants)
        {
            problems.AddRange(TokenBucket.Problems($"{Section}:Tenants:{tenant}", limit.RequestsPerSecond ?? options.RequestsPerSecond, limit.Burst ?? options.Burst));
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

/// <summary>One tenant's override; an unset value falls back to the default.</summary>
internal sealed class TenantLimit
{
    public double? RequestsPerSecond { get; set; }

    public int? Burst { get; set; }
}

/// <summary>
/// A rate and burst as a token bucket: at 1 request per second or more (whole numbers), that many tokens every
/// second; below 1, one token every 1/rate seconds (0.5 = one request every 2 s).
/// </summary>
internal readonly record struct TokenBucket(int TokenLimit, int TokensPerPeriod, TimeSpan ReplenishmentPeriod)
{
    public static TokenBucket From(double requestsPerSecond, int burst) => requestsPerSecond >= 1
        ? new TokenBucket(burst, (int)requestsPerSecond, TimeSpan.FromSeconds(1))
        : new TokenBucket(burst, 1, TimeSpan.FromSeconds(1 / requestsPerSecond));

    public static IEnumerable<string> Problems(string prefix, double requestsPerSecond, int burst)
    {
        if (!(requestsPerSecond > 0) || requestsPerSecond > 1_000_000 || double.IsNaN(requestsPerSecond))
        {
            yield return $"{prefix}:RequestsPerSecond must be above 0 and at most 1000000 (got {requestsPerSecond}).";
        }
        else if (requestsPerSecond >= 1 && requestsPerSecond != Math.Floor(requestsPerSecond))
        {
            yield return $"{prefix}:RequestsPerSecond must be a whole number when 1 or more, or a fraction below 1 such as 0.5 (got {requestsPerSecond}).";
        }
        else if (requestsPerSecond < 1 && 1 / requestsPerSecond > TimeSpan.FromDays(1).TotalSeconds)
        {
            yield return $"{prefix}:RequestsPerSecond must allow at least one request a day (got {requestsPerSecond}).";
        }

        if (burst is < 1 or > 10_000_000)
        {
            yield return $"{prefix}:Burst must be between 1 and 10000000 (got {burst}).";
        }
    }
}
