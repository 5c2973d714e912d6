using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Platform.Ingest.Storage;

/// <summary>Ready only while storage answers: a pod that cannot store must not take writes.</summary>
internal sealed class StorageHealthCheck(IEventStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        return await store.IsHealthyAsync(cancellationToken)
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("storage does not answer");
    }
}
