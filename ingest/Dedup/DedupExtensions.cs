using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Health;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Ingest.Dedup;

internal static class DedupExtensions
{
    public static IHostApplicationBuilder AddDedup(this IHostApplicationBuilder builder)
    {
        builder.AddSectionOptions<DedupOptions, DedupOptionsValidator>(DedupOptions.Section)
            .AddRules<DedupOptions, DedupOptionsRules>();

        // Chosen when first resolved, not here: configuration sources added by a host (or a test) after this call still count.
        builder.Services.AddSingleton<IDedupStore>(static services =>
            services.GetRequiredService<IOptions<DedupOptions>>().Value.Backend == DedupBackend.Redis
                ? ActivatorUtilities.CreateInstance<RedisDedupStore>(services)
                : ActivatorUtilities.CreateInstance<InMemoryDedupStore>(services));
        builder.Services.AddHostedService<RedisDedupConnector>();
        builder.Services.AddHealthChecks().AddCheck<RedisDedupHealthCheck>("dedup", tags: [HealthEndpoints.ReadyTag]);
        return builder;
    }
}

/// <summary>Opens the Redis connection while the host starts, so the first request does not pay for it. Redis being down is no reason not to start.</summary>
internal sealed class RedisDedupConnector(IDedupStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        store is RedisDedupStore redis ? redis.ConnectAsync(cancellationToken) : Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// Redis down with <see cref="RedisUnavailableMode.StorageBackstop"/> is Degraded (still ready: ingest goes on, storage
/// collapses duplicates); with <see cref="RedisUnavailableMode.Reject"/> it is Unhealthy, since every write would get 503.
/// </summary>
internal sealed class RedisDedupHealthCheck(IDedupStore dedup) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (dedup is not RedisDedupStore store)
        {
            return HealthCheckResult.Healthy("in-memory");
        }

        if (await store.PingAsync(cancellationToken))
        {
            return HealthCheckResult.Healthy();
        }

        return store.OnUnavailable == RedisUnavailableMode.Reject
            ? HealthCheckResult.Unhealthy("dedup Redis does not answer; writes are refused")
            : HealthCheckResult.Degraded("dedup Redis does not answer; storage collapses duplicates");
    }
}
