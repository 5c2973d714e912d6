using StackExchange.Redis;

namespace Platform.ServiceDefaults.Redis;

/// <summary>
/// The one way the services open a Redis connection. A Redis that is down never stops a service: the connection does
/// not abort when the first attempt fails and keeps reconnecting in the background, and commands fail fast while it is
/// down (no backlog), so callers fall back at once instead of queueing behind a dead connection.
/// </summary>
public static class RedisConnectionFactory
{
    /// <summary>
    /// Connects with <paramref name="options"/>' timeouts. The client name (what <c>CLIENT LIST</c> shows) is the
    /// connection string's own when it has one, else <paramref name="clientName"/>; <paramref name="clientNameSuffix"/>
    /// is appended either way, for a second connection of the same service.
    /// </summary>
    public static async Task<ConnectionMultiplexer> ConnectAsync(RedisOptions options, string clientName, string clientNameSuffix = "")
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.IsConfigured)
        {
            throw new InvalidOperationException("Redis is not configured: there is no connection string.");
        }

        var configuration = ConfigurationOptions.Parse(options.ConnectionString!);
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ConnectTimeout = (int)options.ConnectTimeout.TotalMilliseconds;
        configuration.AsyncTimeout = (int)options.OperationTimeout.TotalMilliseconds;
        configuration.SyncTimeout = (int)options.OperationTimeout.TotalMilliseconds;
        configuration.ClientName = (configuration.ClientName ?? clientName) + clientNameSuffix;
        return await ConnectionMultiplexer.ConnectAsync(configuration);
    }

    /// <summary>What counts as "Redis did not answer": the cases a caller falls back on local state for.</summary>
    public static bool IsFailure(Exception ex) =>
        ex is RedisException or TimeoutException or ObjectDisposedException or RedisNotConnectedException;
}

/// <summary>The connection is reconnecting; the command was not even tried.</summary>
public sealed class RedisNotConnectedException() : Exception("Redis is not connected");
