using System.Diagnostics;
using Microsoft.Extensions.Options;
using Platform.Ingest.Dedup;
using Platform.Ingest.Events;
using Platform.Ingest.GroupApi;
using Platform.Ingest.Limits;
using Platform.Ingest.Log;
using Platform.Ingest.Storage;
using Platform.Ingest.Telemetry;
using Platform.Ingest.Writing;

namespace Platform.Ingest.Ingestion;

/// <summary>
/// The one path every ingestion endpoint takes: parse → drop repeats inside the request → reserve the events in the
/// dedup store → hand the new ones to the writer, which commits the reservations once they are durable or releases
/// them when they cannot be. Knows nothing of HTTP; it returns an <see cref="IngestResult"/>.
/// </summary>
internal sealed partial class IngestPipeline(
    GroupEventParser parser,
    IDedupStore dedup,
    IEventWriter writer,
    IOptions<WriterOptions> writerOptions,
    IngestTelemetry telemetry,
    ILogger<IngestPipeline> logger)
{
    private readonly TimeSpan _retryAfter = writerOptions.Value.RetryAfter;
    private readonly AckMode _defaultAck = writerOptions.Value.Ack;

    /// <summary>
    /// Parses a request body (taking ownership of its buffer) and stores its new events; <paramref name="ack"/> is what
    /// the request asked a 200 to mean, null for the deployment's default.
    /// </summary>
    public Task<IngestResult> IngestAsync(
        PooledBody body, string tenant, long receivedAtMicros, AckMode? ack, CancellationToken cancellationToken, EventAdmission? admission = null)
    {
        ParseOutcome outcome;
        using (body)
        {
            outcome = parser.Parse(body.Span, tenant);
        }

        return StoreAsync(outcome, tenant, receivedAtMicros, ack, cancellationToken, admission);
    }

    /// <summary>
    /// Stores the events of an already parsed request. <paramref name="admission"/> (from the tenant's events-per-second
    /// limit, <see cref="EventRateLimiter.TryEnter"/>) is charged the request's events first: over the limit, the answer
    /// is 429 and nothing is reserved or stored. An invalid request is charged too (its parse was paid for) and answered 400.
    /// </summary>
    public async Task<IngestResult> StoreAsync(
        ParseOutcome outcome, string tenant, long receivedAtMicros, AckMode? ack, CancellationToken cancellationToken, EventAdmission? admission = null)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var tags = telemetry.For(tenant);
        telemetry.EventsReceived.Add(outcome.EventCount, tags);
        if (admission is not null)
        {
            var decision = await admission.ChargeAsync(outcome.EventCount, force: !outcome.IsValid);
            if (!decision.Allowed)
            {
                telemetry.Rejected(tenant, RejectReason.RateLimited, outcome.EventCount);
                return new IngestResult.Throttled(ThrottleReason.EventRate, decision.RetryAfter);
            }
        }

        if (!outcome.IsValid)
        {
            telemetry.Rejected(tenant, RejectReason.Invalid, outcome.EventCount);
            LogRejected(logger, tenant, outcome.Errors.Count);
            return new IngestResult.Invalid("Bad Request: no event was stored; fix the listed problems and send the batch again", outcome.Errors);
        }

        var events = outcome.Events;
        if (writer.IsOverFairShare(tenant))
        {
            // Refused before any dedup round trip; the writer decides again, exactly, when the events get there.
            telemetry.Rejected(tenant, RejectReason.FairShare, events.Count);
            return new IngestResult.Throttled(ThrottleReason.FairShare, _retryAfter);
        }

        var unique = WithoutRepeats(events);
        var keys = new UInt128[unique.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = unique[i].Key;
        }

        var isNew = new bool[keys.Length];
        var reserveStarted = Stopwatch.GetTimestamp();
        ReservationHolder holder;

        // A refused reservation gives back whatever it had reserved, so nothing is held after any of these.
        try
        {
            using var span = IngestTelemetry.Source.StartActivity("dedup.reserve");
            span?.SetTag("platform.events", keys.Length);
            holder = await dedup.ReserveAsync(tenant, keys, isNew, cancellationToken);
            telemetry.DedupDuration.Record(Stopwatch.GetElapsedTime(reserveStarted).TotalSeconds, tags);
        }
        catch (ReservationLostException ex)
        {
            return ReservationLost(ex, tenant, events.Count);
        }
        catch (DedupUnavailableException ex)
        {
            if (ex.InFlightElsewhere)
            {
                telemetry.Rejected(tenant, RejectReason.EventInFlight, events.Count);
                LogEventInFlight(logger, tenant);
                return new IngestResult.Unavailable(UnavailableReason.EventInFlight, _retryAfter);
            }

            telemetry.DedupErrors.Add(1, tags);
            telemetry.Rejected(tenant, RejectReason.DedupUnavailable, events.Count);
            LogUnavailable(logger, ex, tenant, "the dedup store");
            return new IngestResult.Unavailable(UnavailableReason.DedupUnreachable, _retryAfter);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new IngestResult.Abandoned();
        }

        var fresh = new List<GroupEvent>(unique.Count);
        var reserved = new List<UInt128>(unique.Count);
        for (var i = 0; i < unique.Count; i++)
        {
            if (isNew[i])
            {
                fresh.Add(unique[i]);
                reserved.Add(keys[i]);
            }
        }

        var accepted = 0;
        var ackMode = ack ?? _defaultAck;
        if (fresh.Count > 0 || ackMode == AckMode.Queryable)
        {
            try
            {
                accepted = fresh.Count > 0
                    ? await writer.WriteAsync(new IngestBatch { Tenant = tenant, Events = fresh, ReceivedAtMicros = receivedAtMicros }, [.. reserved], holder, ackMode)
                    : await WaitQueryableAsync();
            }
            catch (LogFullException ex)
            {
                return Refused(ex, tenant, events.Count, UnavailableReason.LogFull, RejectReason.LogFull, "room in the write-ahead log");
            }
            catch (NotYetQueryableException ex)
            {
                return Refused(ex, tenant, events.Count, UnavailableReason.NotYetQueryable, RejectReason.NotYetQueryable, "a queryable ack");
            }
            catch (FairShareExceededException)
            {
                // Not a fault: the tenant is asked to slow down while others are served; counted, not logged per request.
                telemetry.Rejected(tenant, RejectReason.FairShare, events.Count);
                return new IngestResult.Throttled(ThrottleReason.FairShare, _retryAfter);
            }
            catch (WriteQueueFullException ex)
            {
                return Refused(ex, tenant, events.Count, UnavailableReason.QueueFull, RejectReason.QueueFull, "the write queue");
            }
            catch (StorageUnavailableException ex)
            {
                return Refused(ex, tenant, events.Count, UnavailableReason.StorageUnavailable, RejectReason.StorageUnavailable, "storage");
            }
            catch (ReservationLostException ex)
            {
                return ReservationLost(ex, tenant, events.Count);
            }
            catch (DedupUnavailableException ex)
            {
                // The owner lease could not be confirmed while Redis does not answer (Dedup:Redis:OnUnavailable=Reject).
                telemetry.DedupErrors.Add(1, tags);
                return Refused(ex, tenant, events.Count, UnavailableReason.DedupUnreachable, RejectReason.DedupUnavailable, "the dedup store");
            }
        }

        telemetry.EventsAccepted.Add(accepted, tags);
        telemetry.EventsDeduplicated.Add(events.Count - accepted, tags);
        return new IngestResult.Stored(accepted, events.Count - accepted);
    }

    /// <summary>The write path could not take the request: counted by reason, logged, answered 503 with Retry-After.</summary>
    private IngestResult.Unavailable Refused(Exception ex, string tenant, int events, UnavailableReason reason, string rejectReason, string cause)
    {
        telemetry.Rejected(tenant, rejectReason, events);
        LogUnavailable(logger, ex, tenant, cause);
        return new IngestResult.Unavailable(reason, _retryAfter);
    }

    /// <summary>
    /// This process stalled past its dedup owner lease while holding the request's reservations: not a fault of Redis or
    /// storage, so it is logged and counted as what it is.
    /// </summary>
    private IngestResult.Unavailable ReservationLost(ReservationLostException ex, string tenant, int events)
    {
        telemetry.Rejected(tenant, RejectReason.ReservationLost, events);
        LogReservationLost(logger, tenant, ex.AfterDurable);
        return new IngestResult.Unavailable(UnavailableReason.ReservationLost, _retryAfter);
    }

    /// <summary>Only duplicates, with a queryable ack asked for: their first copies may still be on their way to storage.</summary>
    private async Task<int> WaitQueryableAsync()
    {
        await writer.WaitQueryableAsync();
        return 0;
    }

    /// <summary>Identical events inside one request count once; the first occurrence is the one stored.</summary>
    private static List<GroupEvent> WithoutRepeats(List<GroupEvent> events)
    {
        var unique = new List<GroupEvent>(events.Count);
        var seen = new HashSet<UInt128>(events.Count);
        foreach (var groupEvent in events)
        {
            if (seen.Add(groupEvent.Key))
            {
                unique.Add(groupEvent);
            }
        }

        return unique;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rejected a batch for tenant {Tenant}: {Problems} problems")]
    private static partial void LogRejected(ILogger logger, string tenant, int problems);

    [LoggerMessage(Level = LogLevel.Information, Message = "Answered 503 to tenant {Tenant}: an event of the request is still being stored by another request")]
    private static partial void LogEventInFlight(ILogger logger, string tenant);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answered 503 to tenant {Tenant}: this process stalled past its dedup owner lease and may have lost the request's reservations to another request (events already durable: {AfterDurable}; storage keeps one row per event)")]
    private static partial void LogReservationLost(ILogger logger, string tenant, bool afterDurable);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answered 503 to tenant {Tenant}: {Cause} unavailable")]
    private static partial void LogUnavailable(ILogger logger, Exception ex, string tenant, string cause);
}
