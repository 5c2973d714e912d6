using System.Diagnostics;
using Microsoft.Extensions.Options;
using Platform.Ingest.Dedup;
using Platform.Ingest.Log;
using Platform.Ingest.Shipping;
using Platform.Ingest.Storage;
using Platform.Ingest.Telemetry;

namespace Platform.Ingest.Writing;

/// <summary>The events are durable in the log but were not in storage within the queryable-ack wait.</summary>
internal sealed class NotYetQueryableException() : Exception("the events are durable but not yet queryable");

/// <summary>
/// The writer in front of the write-ahead log (the ClickHouse deployment): a request's batch is appended, the append
/// is fsynced together with every other request's appended meanwhile (group commit), and then the events' dedup
/// reservations are committed and the request is answered. The <see cref="LogShipper"/> loads the log into storage
/// behind the answer. With <see cref="AckMode.Queryable"/> the answer also waits until the shipper stored the batch.
/// </summary>
internal sealed class LogWriter : IEventWriter
{
    private readonly IngestLog _log;
    private readonly LogShipper _shipper;
    private readonly IDedupStore _dedup;
    private readonly IngestTelemetry _telemetry;
    private readonly ILogger<LogWriter> _logger;
    private readonly TimeSpan _queryableWait;

    public LogWriter(IngestLog log, LogShipper shipper, IDedupStore dedup, IOptions<WriterOptions> options, IngestTelemetry telemetry, ILogger<LogWriter> logger)
    {
        _log = log;
        _shipper = shipper;
        _dedup = dedup;
        _telemetry = telemetry;
        _logger = logger;
        _queryableWait = options.Value.QueryableWait;
        telemetry.ObserveQueuedEvents(() => log.UnshippedByTenant().ConvertAll(static h => (h.Tenant, h.Events)));
    }

    /// <inheritdoc />
    public bool IsOverFairShare(string tenant) => _log.IsOverFairShare(tenant);

    /// <inheritdoc />
    public async Task<int> WriteAsync(IngestBatch batch, UInt128[] reservedKeys, ReservationHolder holder, AckMode ack)
    {
        // A process that stalled past its owner lease may have lost the reservations to a retry: then it must not append.
        await _dedup.ConfirmOrReleaseAsync(batch.Tenant, reservedKeys, holder, _telemetry, _logger);
        LogPosition end;
        var started = Stopwatch.GetTimestamp();
        try
        {
            end = await _log.AppendAsync(batch);
            _telemetry.LogAppendDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        catch (Exception ex) when (ex is LogFullException or FairShareExceededException or LogWriteException)
        {
            // Not in the log, so never stored: the client's retry must be accepted.
            await _dedup.SettleAsync(batch.Tenant, reservedKeys, holder, committed: false, _telemetry, _logger);
            if (ex is not LogWriteException)
            {
                throw;
            }

            throw new StorageUnavailableException(ex);
        }

        // Durable now: from here on a retry of these events is a duplicate, whatever happens to this request.
        var lost = await _dedup.SettleAsync(batch.Tenant, reservedKeys, holder, committed: true, _telemetry, _logger);
        if (Array.IndexOf(lost, true) >= 0)
        {
            // Stalled between the check and the append: a retry took the reservations over and may have stored the
            // events too. Ours are durable and storage collapses the repeat, but this request is not the one to ack them.
            throw new ReservationLostException(afterDurable: true);
        }

        if (ack == AckMode.Queryable)
        {
            await WaitShippedAsync(end);
        }

        return batch.Events.Count;
    }

    /// <inheritdoc />
    public Task WaitQueryableAsync() => WaitShippedAsync(_log.DurableEnd);

    private async Task WaitShippedAsync(LogPosition upTo)
    {
        if (!await _shipper.WaitShippedAsync(upTo, _queryableWait, CancellationToken.None))
        {
            throw new NotYetQueryableException();
        }
    }
}
