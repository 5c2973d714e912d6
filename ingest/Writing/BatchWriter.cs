using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Platform.Ingest.Dedup;
using Platform.Ingest.Storage;
using Platform.Ingest.Telemetry;

namespace Platform.Ingest.Writing;

/// <summary>The write queue is full; the request is refused before anything was stored.</summary>
internal sealed class WriteQueueFullException() : Exception("the write queue is full");

/// <summary>Storage did not confirm the insert; nothing of the request may be assumed stored.</summary>
internal sealed class StorageUnavailableException(Exception inner) : Exception("storage did not confirm the insert", inner);

/// <summary>
/// Group commit: requests hand their new events to one writer loop, which stores everything queued so far in one
/// insert and then answers each request. A request is answered only after its own events are durable, and all of
/// a request's events go into the same insert, so a request is stored whole or not at all. After the insert the
/// writer commits the events' dedup reservations; after a failure it releases them so the client's retry is accepted.
/// </summary>
internal sealed partial class BatchWriter : BackgroundService, IEventWriter
{
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions
    {
        SingleReader = true,
        AllowSynchronousContinuations = false,
    });

    private readonly IEventStore _store;
    private readonly IDedupStore _dedup;
    private readonly WriterOptions _options;
    private readonly ILogger<BatchWriter> _logger;

    // Events queued and not yet inserted, per tenant: MaxQueuedEvents, shared fairly when congested.
    private readonly FairShare _queued;

    private readonly IngestTelemetry _telemetry;

    public BatchWriter(IEventStore store, IDedupStore dedup, IOptions<WriterOptions> options, IngestTelemetry telemetry, ILogger<BatchWriter> logger)
    {
        _store = store;
        _dedup = dedup;
        _options = options.Value;
        _telemetry = telemetry;
        _logger = logger;
        _queued = new FairShare(_options.MaxQueuedEvents, _options.FairShareAbove);
        telemetry.Meter.CreateObservableGauge("platform.ingest.write_queue.depth", () => QueuedEvents, "{event}", "Events accepted and waiting for their insert");
        telemetry.ObserveQueuedEvents(QueuedByTenant);
    }

    /// <summary>Events waiting for an insert.</summary>
    public long QueuedEvents => _queued.Used;

    /// <summary>Each tenant's events waiting for an insert.</summary>
    public List<(string Tenant, long Events)> QueuedByTenant() => _queued.Holdings().ConvertAll(static h => (h.Tenant, h.Events));

    /// <inheritdoc />
    /// <remarks>Every answer is queryable: the request waits for its own insert, whatever <paramref name="ack"/> asks.</remarks>
    public async Task<int> WriteAsync(IngestBatch batch, UInt128[] reservedKeys, ReservationHolder holder, AckMode ack)
    {
        var count = batch.Events.Count;
        // The request's span, so the insert's span can link back to every request it carried.
        var pending = new PendingWrite(batch, reservedKeys, holder, Activity.Current?.Context ?? default);
        var verdict = _queued.TryTake(batch.Tenant, count, count);
        if (verdict != ShareVerdict.Taken || !_queue.Writer.TryWrite(pending))
        {
            // Full, over its fair share of a congested queue, or closed for shutdown.
            if (verdict == ShareVerdict.Taken)
            {
                _queued.Release(batch.Tenant, count, count);
            }

            await _dedup.ReleaseAsync(batch.Tenant, reservedKeys, holder, CancellationToken.None);
            throw verdict == ShareVerdict.OverFairShare ? new FairShareExceededException() : new WriteQueueFullException();
        }

        return await pending.Completion.Task;
    }

    /// <inheritdoc />
    public bool IsOverFairShare(string tenant) => _queued.IsOverFairShare(tenant);

    /// <inheritdoc />
    /// <remarks>A reservation is committed only after its insert, so every duplicate found is already queryable.</remarks>
    public Task WaitQueryableAsync() => Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = _queue.Reader;
        var taken = new List<PendingWrite>();
        var batches = new List<IngestBatch>();
        // On shutdown the queue is closed and drained: everything accepted so far is still stored and answered.
        await using var registration = stoppingToken.Register(() => _queue.Writer.TryComplete());
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            var events = 0;
            if (_options.MaxBatchDelay > TimeSpan.Zero)
            {
                await Task.Delay(_options.MaxBatchDelay, CancellationToken.None);
            }

            while (events < _options.MaxBatchEvents && reader.TryRead(out var pending))
            {
                taken.Add(pending);
                batches.Add(pending.Batch);
                events += pending.Batch.Events.Count;
            }

            var confirmed = await WithoutLostReservationsAsync(taken, batches);
            if (taken.Count > 0)
            {
                await InsertAsync(taken, batches, confirmed);
            }

            foreach (var pending in taken)
            {
                _queued.Release(pending.Batch.Tenant, pending.Batch.Events.Count, pending.Batch.Events.Count);
            }

            taken.Clear();
            batches.Clear();
        }
    }

    /// <summary>
    /// Right before the insert (a request may have waited in the queue): drops the requests whose reservations this
    /// process may no longer own (it stalled past its owner lease), releasing what they still hold and answering them;
    /// returns the events left to insert.
    /// </summary>
    private async Task<int> WithoutLostReservationsAsync(List<PendingWrite> taken, List<IngestBatch> batches)
    {
        var refused = new Dictionary<ReservationHolder, Exception?>();
        foreach (var pending in taken)
        {
            if (!refused.ContainsKey(pending.Holder))
            {
                try
                {
                    await pending.Holder.ConfirmAsync(CancellationToken.None);
                    refused[pending.Holder] = null;
                }
                catch (Exception ex) when (ex is ReservationLostException or DedupUnavailableException)
                {
                    refused[pending.Holder] = ex;
                }
            }
        }

        var events = 0;
        for (var i = taken.Count - 1; i >= 0; i--)
        {
            var pending = taken[i];
            if (refused[pending.Holder] is { } failure)
            {
                taken.RemoveAt(i);
                batches.RemoveAt(i);
                _queued.Release(pending.Batch.Tenant, pending.Batch.Events.Count, pending.Batch.Events.Count);
                await _dedup.SettleAsync(pending.Batch.Tenant, pending.ReservedKeys, pending.Holder, committed: false, _telemetry, _logger);
                pending.Completion.TrySetException(failure);
            }
            else
            {
                events += pending.Batch.Events.Count;
            }
        }

        return events;
    }

    private async Task InsertAsync(List<PendingWrite> taken, List<IngestBatch> batches, int events)
    {
        Exception? failure = null;
        var links = new List<ActivityLink>(taken.Count);
        foreach (var pending in taken)
        {
            if (pending.RequestContext != default)
            {
                links.Add(new ActivityLink(pending.RequestContext));
            }
        }

        var outcome = InsertOutcome.Unknown;
        var started = Stopwatch.GetTimestamp();
        using (var span = IngestTelemetry.Source.StartActivity("storage.insert", ActivityKind.Internal, parentContext: default, links: links))
        using (var timeout = new CancellationTokenSource(_options.InsertTimeout))
        {
            span?.SetTag("platform.events", events);
            span?.SetTag("platform.requests", taken.Count);
            try
            {
                outcome = await _store.InsertAsync(batches, timeout.Token);
                var milliseconds = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                LogInserted(events, taken.Count, milliseconds);
            }
            catch (Exception ex)
            {
                failure = ex;
                span?.SetStatus(ActivityStatusCode.Error, "insert failed");
                _telemetry.StorageErrors.Add(1);
                LogInsertFailed(ex, events, taken.Count);
            }
        }

        _telemetry.InsertDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        _telemetry.InsertEvents.Record(events);
        _telemetry.InsertRequests.Record(taken.Count);

        // One dedup update per tenant (and owner identity) for the whole insert (one Redis round trip each, sent
        // together), not one per request.
        var groups = KeysByTenant(taken);
        var updates = new List<Task<bool[]>>(groups.Count);
        foreach (var ((tenant, holder), keys) in groups)
        {
            updates.Add(_dedup.SettleAsync(tenant, [.. keys], holder, committed: failure is null, _telemetry, _logger));
        }

        var lost = await Task.WhenAll(updates);
        var lostKeys = LostKeys(groups, lost);
        foreach (var pending in taken)
        {
            if (failure is null && lostKeys is not null && Array.Exists(pending.ReservedKeys, lostKeys.Contains))
            {
                // Stalled between the check and the insert: a retry may have stored these events too. Storage keeps
                // one row per event id, but this request is not the one to ack them.
                pending.Completion.TrySetException(new ReservationLostException(afterDurable: true));
            }
            else if (failure is null)
            {
                pending.Completion.TrySetResult(outcome.AddedIn(pending.Batch));
            }
            else
            {
                pending.Completion.TrySetException(new StorageUnavailableException(failure));
            }
        }
    }

    /// <summary>The keys a commit found held by someone else, or null when there were none (the normal case).</summary>
    private static HashSet<UInt128>? LostKeys(Dictionary<(string, ReservationHolder), List<UInt128>> groups, bool[][] lost)
    {
        HashSet<UInt128>? lostKeys = null;
        var g = 0;
        foreach (var keys in groups.Values)
        {
            var flags = lost[g++];
            for (var i = 0; i < flags.Length; i++)
            {
                if (flags[i])
                {
                    (lostKeys ??= []).Add(keys[i]);
                }
            }
        }

        return lostKeys;
    }

    private static Dictionary<(string, ReservationHolder), List<UInt128>> KeysByTenant(List<PendingWrite> taken)
    {
        var byTenant = new Dictionary<(string, ReservationHolder), List<UInt128>>();
        foreach (var pending in taken)
        {
            if (!byTenant.TryGetValue((pending.Batch.Tenant, pending.Holder), out var keys))
            {
                keys = new List<UInt128>(pending.ReservedKeys.Length);
                byTenant.Add((pending.Batch.Tenant, pending.Holder), keys);
            }

            keys.AddRange(pending.ReservedKeys);
        }

        return byTenant;
    }

    /// <summary>Debug level: one line per insert, for measuring batch sizes under load (perf/IngestLoad's README).</summary>
    [LoggerMessage(Level = LogLevel.Debug, Message = "Inserted {Events} events from {Requests} requests in {Milliseconds:F1} ms")]
    private partial void LogInserted(int events, int requests, double milliseconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Insert of {Events} events from {Requests} requests failed; they are answered 503")]
    private partial void LogInsertFailed(Exception ex, int events, int requests);

    private sealed class PendingWrite(IngestBatch batch, UInt128[] reservedKeys, ReservationHolder holder, ActivityContext requestContext)
    {
        public IngestBatch Batch { get; } = batch;

        public UInt128[] ReservedKeys { get; } = reservedKeys;

        public ReservationHolder Holder { get; } = holder;

        public ActivityContext RequestContext { get; } = requestContext;

        public TaskCompletionSource<int> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
