using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Gateway.Redis;

/// <summary>
/// The Redis shared by every gateway instance (cluster-wide rate limits, revoked token ids). Section "Redis".
/// Without a connection string the gateway runs on local state alone.
/// </summary>
internal sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>A StackExchange.Redis configuration string (host:port[,password=...]); empty means no Redis.</summary>
    [RedisConfiguration]
    public string? ConnectionString { get; set; }

    /// <summary>Prefix of every key the gateway writes or reads.</summary>
    [Required(ErrorMessage = "{0} must not be empty: it keeps the gateway's keys apart from others in the same Redis.")]
    public string KeyPrefix { get; set; } = "platform:gateway:";

    /// <summary>How long to wait for a connection (at start, then on each reconnect attempt).</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one command may take before it counts as a Redis failure.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:30")]
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    internal bool IsConfigured => !string.IsNullOrWhiteSpace(ConnectionString);
}

[OptionsValidator]
internal sealed partial class RedisOptionsValidator : IValidateOptions<RedisOptions>;
