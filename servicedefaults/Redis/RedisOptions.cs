using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Hosting;

namespace Platform.ServiceDefaults.Redis;

/// <summary>
/// Where a Redis is and how long it may take: the one options type of every Redis the services use. Bound from
/// section "Redis" (the gateway's cluster-wide rate limits and revoked token ids, ingest's cluster-wide event limits)
/// and, with settings of its own added, from "Dedup:Redis" (ingest's dedup store). Without a connection string a
/// service runs on local state alone where it can.
/// </summary>
public class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>A StackExchange.Redis configuration string (host:port[,password=...]); empty means no Redis.</summary>
    [RedisConfiguration]
    public string? ConnectionString { get; set; }

    /// <summary>Prefix of every key written or read; each service sets its own default.</summary>
    [Required(ErrorMessage = "{0} must not be empty: it keeps these keys apart from others in the same Redis.")]
    public string KeyPrefix { get; set; } = "platform:";

    /// <summary>How long to wait for a connection (at start, then on each reconnect attempt).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one command may take before it counts as a Redis failure.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:30")]
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    public bool IsConfigured => !string.IsNullOrWhiteSpace(ConnectionString);
}

[OptionsValidator]
public sealed partial class RedisOptionsValidator : IValidateOptions<RedisOptions>;
