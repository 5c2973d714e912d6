using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Hosting;
using StackExchange.Redis;

namespace Platform.Gateway.Redis;

/// <summary>
/// The gateway's one Redis connection, opened at start when <see cref="RedisOptions.ConnectionString"/> is set.
/// A Redis that is down at start or later never stops the gateway: the connection keeps reconnecting in the
/// background, and while it is down <see cref="Database"/> is null so callers use their local fallback at once
/// (commands fail fast instead of queueing).
/// </summary>
internal sealed partial class RedisConnection(IOptions<RedisOptions> options, ILogger<RedisConnection> logger) : IHostedService, IAsyncDisposable
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

        var configuration = ConfigurationOptions.Parse(settings.ConnectionString!);
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ConnectTimeout = (int)settings.ConnectTimeout.TotalMilliseconds;
        configuration.AsyncTimeout = (int)settings.OperationTimeout.TotalMilliseconds;
        configuration.SyncTimeout = (int)settings.OperationTimeout.TotalMilliseconds;
        configuration.ClientName ??= "platform-gateway";

        _multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
        _multiplexer.ConnectionFailed += (_, e) => LogConnectionFailed(logger, e.EndPoint, e.FailureType);
        _multiplexer.ConnectionRestored += (_, e) => LogConnectionRestored(logger, e.EndPoint);
        if (!_multiplexer.IsConnected)
        {
            LogNotReachableAtStart(logger, configuration.EndPoints.Count > 0 ? configuration.EndPoints[0] : null);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis at {Endpoint} is not reachable at start; using local rate limits until it is")]
    private static partial void LogNotReachableAtStart(ILogger logger, System.Net.EndPoint? endpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis connection to {Endpoint} failed ({FailureType}); using local rate limits until it is restored")]
    private static partial void LogConnectionFailed(ILogger logger, System.Net.EndPoint? endpoint, ConnectionFailureType failureType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis connection to {Endpoint} restored; rate limits are cluster-wide again")]
    private static partial void LogConnectionRestored(ILogger logger, System.Net.EndPoint? endpoint);
}

internal static class RedisExtensions
{
    public static IHostApplicationBuilder AddRedisConnection(this IHostApplicationBuilder builder)
    {
        builder.AddSectionOptions<RedisOptions, RedisOptionsValidator>(RedisOptions.Section);
        builder.Services.AddSingleton<RedisConnection>();
        builder.Services.AddHostedService(static services => services.GetRequiredService<RedisConnection>());
        return builder;
    }
}
