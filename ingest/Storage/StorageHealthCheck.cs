using Microsoft.Extensions.Options;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Platform.Ingest.Storage;

/// <summary>
/// Whether storage answers. Where requests wait for their own insert (DuckDB) a pod that cannot store must not take
/// writes, so the check fails readiness; behind the write-ahead log it reports Degraded only.
/// </summary>
internal sealed class StorageHealthCheck(IEventStore store, IOptions<StorageOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        return await store.IsHealthyAsync(cancellationToken)
            ? HealthCheckResult.Healthy()
            : options.Value.UsesWriteAheadLog
                ? HealthCheckResult.Degraded("storage does not answer; acked events wait in the write-ahead log")
                : HealthCheckResult.Unhealthy("storage does not answer");
    }
}
