using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Platform.Ingest.Log;
using Platform.Ingest.Storage;

namespace Platform.Ingest.Shipping;

/// <summary>
/// Readiness of the write path in front of ClickHouse: ready while the log has room, so a ClickHouse outage does not
/// take the pod out of service; unready once the log is nearly full (the requests it would get are answered 503 anyway,
/// better sent to a pod with room) or when shipping stopped on a damaged log.
/// </summary>
internal sealed class LogHealthCheck(IServiceProvider services, IOptions<StorageOptions> options) : IHealthCheck
{
    /// <summary>The share of Log:MaxBytes at which the pod stops being ready.</summary>
    public const double FullRatio = 0.95;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!options.Value.UsesWriteAheadLog)
        {
            return Task.FromResult(HealthCheckResult.Healthy("no write-ahead log: the embedded backend answers after each insert"));
        }

        var log = services.GetRequiredService<IngestLog>();
        var shipper = services.GetRequiredService<LogShipper>();
        var data = new Dictionary<string, object>
        {
            ["unshippedBytes"] = log.UnshippedBytes,
            ["maxBytes"] = log.MaxBytes,
            ["unshippedRecords"] = log.UnshippedRecords,
        };
        if (shipper.Fault is { } fault)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("shipping stopped: the write-ahead log is damaged", fault, data));
        }

        if (log.UsedBytes >= log.MaxBytes * FullRatio)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("the write-ahead log is nearly full: storage is behind", data: data));
        }

        return Task.FromResult(shipper.StorageFailing
            ? HealthCheckResult.Degraded("storage refuses inserts; acked events wait in the write-ahead log", data: data)
            : HealthCheckResult.Healthy(data: data));
    }
}
