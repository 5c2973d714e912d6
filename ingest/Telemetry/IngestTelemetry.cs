using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Telemetry;

namespace Platform.Ingest.Telemetry;

/// <summary>Why events or requests were refused, as the <c>reason</c> attribute of the rejection metrics.</summary>
internal static class RejectReason
{
    public const string Invalid = "invalid";
    public const string QueueFull = "queue_full";
    public const string StorageUnavailable = "storage_unavailable";
    public const string DedupUnavailable = "dedup_unavailable";

    /// <summary>Another request was still storing one of the events (the dedup store is healthy).</summary>
    public const string EventInFlight = "event_in_flight";

    /// <summary>The write-ahead log holds as much unshipped data as it may (Log:MaxBytes): storage is behind.</summary>
    public const string LogFull = "log_full";

    /// <summary>The events are durable in the log, but did not reach storage within the queryable-ack wait.</summary>
    public const string NotYetQueryable = "not_yet_queryable";

    /// <summary>This process stalled past its dedup owner lease; another request may have taken the events over.</summary>
    public const string ReservationLost = "reservation_lost";

    /// <summary>The tenant is over its events-per-second limit (429).</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>The write path is congested and the tenant holds more than its fair share of it (429).</summary>
    public const string FairShare = "fair_share";

    public static readonly string[] All = [Invalid, QueueFull, StorageUnavailable, DedupUnavailable, EventInFlight, LogFull, NotYetQueryable, ReservationLost, RateLimited, FairShare];
}

/// <summary>
/// The ingest service's own metrics and spans. Names follow OpenTelemetry conventions; Prometheus sees them with
/// dots as underscores and counters suffixed <c>_total</c>. The tenant is an attribute only when
/// <see cref="TelemetryOptions.TenantLabel"/> is on.
/// </summary>
internal sealed class IngestTelemetry
{
    public const string Name = "Platform.Ingest";

    /// <summary>Spans of the ingest path: dedup reservations and the storage insert each request was batched into.</summary>
    public static readonly ActivitySource Source = new(Name);

    private readonly bool _tenantLabel;

    public IngestTelemetry(IMeterFactory meters, IOptions<TelemetryOptions> options)
    {
        _tenantLabel = options.Value.TenantLabel;
        Meter = meters.Create(Name);
        EventsReceived = Meter.CreateCounter<long>("platform.ingest.events.received", "{event}", "Events in requests that reached validation");
        EventsAccepted = Meter.CreateCounter<long>("platform.ingest.events.accepted", "{event}", "Events stored (new, not duplicates)");
        EventsDeduplicated = Meter.CreateCounter<long>("platform.ingest.events.deduplicated", "{event}", "Events recognised as already stored and not stored again");
        EventsRejected = Meter.CreateCounter<long>("platform.ingest.events.rejected", "{event}", "Events refused, by reason");
        RequestsRejected = Meter.CreateCounter<long>("platform.ingest.requests.rejected", "{request}", "Requests refused, by reason");
        InsertEvents = Meter.CreateHistogram<int>("platform.ingest.insert.events", "{event}", "Events per storage insert (group commit batch size)",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 10, 100, 500, 1_000, 2_500, 5_000, 10_000, 20_000, 50_000] });
        InsertRequests = Meter.CreateHistogram<int>("platform.ingest.insert.requests", "{request}", "Requests per storage insert",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 5, 10, 20, 50, 100, 200, 500] });
        InsertDuration = Meter.CreateHistogram<double>("platform.ingest.insert.duration", "s", "Duration of storage inserts",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        DedupDuration = Meter.CreateHistogram<double>("platform.ingest.dedup.duration", "s", "Duration of dedup reservations per request",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1] });
        ShipLag = Meter.CreateHistogram<double>("platform.ingest.ship.lag", "s", "Time from a request's log append to its events being in storage (the freshness lag of queries)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300] });
        LogAppendDuration = Meter.CreateHistogram<double>("platform.ingest.log.append.duration", "s", "Time from a request's log append to its fsync completing (the disk's share of the answer)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        StorageErrors = Meter.CreateCounter<long>("platform.ingest.storage.errors", "{error}", "Failed storage inserts");
        DedupErrors = Meter.CreateCounter<long>("platform.ingest.dedup.errors", "{error}", "Dedup store operations that failed");
        SegmentCallsSkipped = Meter.CreateCounter<long>("platform.ingest.segment.calls.skipped", "{call}",
            "Segment-spec calls of types other than group, acknowledged and not stored");

        // Every series exists from the first scrape, at zero, so dashboards and alerts see 0 rather than no data.
        foreach (var counter in new[] { EventsReceived, EventsAccepted, EventsDeduplicated, StorageErrors, DedupErrors, SegmentCallsSkipped })
        {
            counter.Add(0);
        }

        foreach (var reason in RejectReason.All)
        {
            EventsRejected.Add(0, new KeyValuePair<string, object?>("reason", reason));
            RequestsRejected.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }
    }

    public Meter Meter { get; }

    public Counter<long> EventsReceived { get; }

    /// <summary>Seconds from log append to stored, one value per shipped log record.</summary>
    public Histogram<double> ShipLag { get; }

    public Counter<long> EventsAccepted { get; }

    public Counter<long> EventsDeduplicated { get; }

    public Counter<long> EventsRejected { get; }

    public Counter<long> RequestsRejected { get; }

    public Histogram<int> InsertEvents { get; }

    public Histogram<int> InsertRequests { get; }

    public Histogram<double> InsertDuration { get; }

    public Histogram<double> DedupDuration { get; }

    /// <summary>Seconds from a request's append to its record being durable (group commit wait plus fsync).</summary>
    public Histogram<double> LogAppendDuration { get; }

    public Counter<long> StorageErrors { get; }

    public Counter<long> DedupErrors { get; }

    public Counter<long> SegmentCallsSkipped { get; }

    /// <summary>The tenant attribute when tenant labels are on; no attributes otherwise.</summary>
    public TagList For(string tenant) => _tenantLabel ? new TagList { { "tenant", tenant } } : default;

    /// <summary>
    /// The gauge <c>platform.ingest.queued.events</c>: events accepted and not yet stored (the write queue on DuckDB, the
    /// write-ahead log's unshipped records on ClickHouse), per tenant when tenant labels are on, else one total.
    /// </summary>
    public void ObserveQueuedEvents(Func<List<(string Tenant, long Events)>> byTenant)
    {
        Meter.CreateObservableGauge("platform.ingest.queued.events", () => QueuedEvents(byTenant()), "{event}",
            "Events accepted and waiting to be stored, per tenant when tenant labels are on");
    }

    private List<Measurement<long>> QueuedEvents(List<(string Tenant, long Events)> byTenant)
    {
        if (!_tenantLabel)
        {
            long total = 0;
            foreach (var (_, events) in byTenant)
            {
                total += events;
            }

            return [new Measurement<long>(total)];
        }

        var measurements = new List<Measurement<long>>(byTenant.Count);
        foreach (var (tenant, events) in byTenant)
        {
            measurements.Add(new Measurement<long>(events, new KeyValuePair<string, object?>("tenant", tenant)));
        }

        return measurements;
    }

    /// <summary>Invalid calls left out of a request whose other calls were stored: events rejected, the request not.</summary>
    public void RejectedCalls(string tenant, int calls)
    {
        var tags = For(tenant);
        tags.Add("reason", RejectReason.Invalid);
        EventsRejected.Add(calls, tags);
    }

    /// <summary>A rejection of <paramref name="events"/> events (possibly none, for an unreadable body) for a reason.</summary>
    public void Rejected(string tenant, string reason, int events)
    {
        var tags = For(tenant);
        tags.Add("reason", reason);
        RequestsRejected.Add(1, tags);
        if (events > 0)
        {
            EventsRejected.Add(events, tags);
        }
    }
}
