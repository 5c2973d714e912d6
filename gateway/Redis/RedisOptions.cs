using Platform.Gateway.Hosting;

namespace Platform.Gateway.Redis;

/// <summary>
/// The Redis shared by every gateway instance (cluster-wide rate limits, revoked token ids). Section "Redis".
/// Without a connection string the gateway runs on local state alone.
/// </summary>
internal sealed class RedisOptions : IValidatedOptions
{
    public const string Section = "Redis";

    /// <summary>A StackExchange.Redis configuration string (host:port[,password=...]); empty means no Redis.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Prefix of every key the gateway writes or reads.</summary>
    public string KeyPrefix { get; set; } = "platform:gateway:";

    /// <summary>How long to wait for a connection (at start, then on each reconnect attempt).</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one command may take before it counts as a Redis failure.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    internal bool IsConfigured => !string.IsNullOrWhiteSpace(ConnectionString);

    public IEnumerable<string> Problems()
    {
        if (IsConfigured)
        {
            string? parseError = null;
            try
            {
                _ = StackExchange.Redis.ConfigurationOptions.Parse(ConnectionString!);
            }
            catch (ArgumentException ex)
            {
                parseError = ex.Message;
            }

            if (parseError is not null)
            {
                yield return $"{Section}:ConnectionString cannot be parsed: {parseError}";
            }
        }

        if (string.IsNullOrWhiteSpace(KeyPrefix))
        {
            yield return $"{Section}:KeyPrefix must not be empty: it keeps the gateway's keys apart from others in the same Redis.";
        }

        if (ConnectTimeout <= TimeSpan.Zero || ConnectTimeout > TimeSpan.FromMinutes(1))
        {
            yield return $"{Section}:ConnectTimeout must be above zero and at most 00:01:00 (got {ConnectTimeout:c}).";
        }

        if (OperationTimeout <= TimeSpan.Zero || OperationTimeout > TimeSpan.FromSeconds(30))
        {
            yield return $"{Section}:OperationTimeout must be above zero and at most 00:00:30 (got {OperationTimeout:c}).";
        }
    }
}
