using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Hosting;
using StackExchange.Redis;

namespace Platform.ServiceDefaults.Redis;

/// <summary>
/// A service's shared Redis connection (section "Redis"), opened at start when a connection string is set. A Redis
/// that is down at start or later never stops the service (see <see cref="RedisConnectionFactory"/>); while it is down
/// <see cref="Database"/> is null, so callers use their local fallback at once.
/// </summary>
public sealed partial class RedisConnection(IOptions<RedisOptions> options, ILogger<RedisConnection> logger, RedisClientName clientName)
    : IHostedService, IAsyncDisposable
{
    private ConnectionMultiplexer? _multiplexer;

    public bool IsConfigured => options.Value.IsConfigured;

    public string KeyPrefix => options.Value.KeyPrefix;

    /// <summary>The database while connected; null when Redis is not configured or not reachable right now.</summary>
    public IDatabase? Database => _multiplexer is { IsConnected: true } multiplexer ? multiplexer.GetDatabase() : null;

    /// <summary>The connection for libraries that want it; only call while <see cref="Database"/> is not null.</summary>
    public IConnectionMultiplexer Multiplexer => _multiplexer ?? throw new InvalidOperationException("Redis is not connected.");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!settings.IsConfigured)
        {
            return;
        }

        _multiplexer = await RedisConnectionFactory.ConnectAsync(settings, clientName.Name);
        _multiplexer.ConnectionFailed += (_, e) => LogConnectionFailed(logger, e.EndPoint, e.FailureType);
        _multiplexer.ConnectionRestored += (_, e) => LogConnectionRestored(logger, e.EndPoint);
        if (!_multiplexer.IsConnected)
        {
            var endpoints = ConfigurationOptions.Parse(settings.ConnectionString!).EndPoints;
            LogNotReachableAtStart(logger, endpoints.Count > 0 ? endpoints[0] : null);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_multiplexer is not null)
        {
            await _multiplexer.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis at {Endpoint} is not reachable at start; cluster-wide limits are decided locally until it is")]
    private static partial void LogNotReachableAtStart(ILogger logger, System.Net.EndPoint? endpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis connection to {Endpoint} failed ({FailureType}); cluster-wide limits are decided locally until it is restored")]
    private static partial void LogConnectionFailed(ILogger logger, System.Net.EndPoint? endpoint, ConnectionFailureType failureType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis connection to {Endpoint} restored; limits are cluster-wide again")]
    private static partial void LogConnectionRestored(ILogger logger, System.Net.EndPoint? endpoint);
}

/// <summary>The client name a service's shared connection announces (<c>CLIENT LIST</c>), unless the connection string names one.</summary>
public sealed record RedisClientName(string Name);

public static class RedisExtensions
{
    /// <summary>
    /// The service's shared Redis (section "Redis", validated at start), connected while the host starts.
    /// <paramref name="keyPrefix"/> is the default <see cref="RedisOptions.KeyPrefix"/>, so two services sharing a Redis
    /// keep their keys apart without configuration.
    /// </summary>
    public static IHostApplicationBuilder AddPlatformRedis(this IHostApplicationBuilder builder, string clientName, string keyPrefix)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // The default prefix first, so a configured one (bound next) overrides it.
        builder.Services.Configure<RedisOptions>(options => options.KeyPrefix = keyPrefix);
        builder.AddSectionOptions<RedisOptions, RedisOptionsValidator>(RedisOptions.Section);
        builder.Services.AddSingleton(new RedisClientName(clientName));
        builder.Services.AddSingleton<RedisConnection>();
        builder.Services.AddHostedService(static services => services.GetRequiredService<RedisConnection>());
        return builder;
    }
}
