using System.Diagnostics;
using Microsoft.Extensions.Options;
using Platform.Ingest.Log;
using Platform.Ingest.Telemetry;

namespace Platform.Ingest.Shipping;

/// <summary>
/// Loads the write-ahead log into storage in big blocks, behind the requests' acks. It reads durable records in order,
/// gathers them into a block until the block holds <see cref="ShipperOptions.MaxBlockEvents"/> events or its oldest
/// record has waited <see cref="ShipperOptions.MaxBlockAge"/> (or a request waiting for a queryable ack asks for it),
/// inserts the block's events, and, once the current-state rows gathered from the blocks since the last such insert are
/// stored too (every <see cref="ShipperOptions.StateInterval"/>, or sooner), moves the log's checkpoint past them, which
/// frees log space and deletes shipped segments. A failed insert is retried, with backoff, until it succeeds: acked
/// events are never dropped.
/// Guarantees:
/// <list type="bullet">
/// <item>At least once into storage: the checkpoint moves only after the events' and the states' inserts returned. A crash between the two
/// replays the block at the next start; storage collapses the repeat (event ids are deterministic, every table is
/// idempotent on (tenant, event id)), so the effect is exactly once.</item>
/// <item>A record (one request) is never split between blocks, so storage never shows part of a request.</item>
/// <item>On a graceful stop the log is drained for up to <see cref="ShipperOptions.DrainTimeout"/>; what is left
/// then stays in the log and ships at the next start.</item>
/// </list>
/// </summary>
internal sealed partial class LogShipper : BackgroundService
{
    private static readonly TimeSpan IdleWait = TimeSpan.FromSeconds(1);

    private readonly IngestLog _log;
    private readonly IShippingTarget _target;
    private readonly ShipperOptions _options;
    private readonly IngestTelemetry _telemetry;
    private readonly TimeProvider _time;
    private readonly ILogger<LogShipper> _logger;

    private readonly object _signalLock = new();
    private TaskCompletionSource _shippedSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _flushSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private volatile bool _storageFailing;
    private volatile Exception? _fault;

    // When the drain after a stop request began (a TimeProvider timestamp), 0 before. Owned by the shipping loop.
    private long _drainStarted;

    // Where the checkpoint goes once the pending states are stored (past the last block whose events are), and since when
    // states are pending (a TimeProvider timestamp); whether a request asked for a flush. Owned by the shipping loop.
    private LogPosition? _unflushedEnd;
    private long _pendingSince;
    private bool _flushAsked;

    public LogShipper(IngestLog log, IShippingTarget target, IOptions<ShipperOptions> options, IngestTelemetry telemetry, TimeProvider time, ILogger<LogShipper> logger)
    {
        _log = log;
        _target = target;
        _options = options.Value;
        _telemetry = telemetry;
        _time = time;
        _logger = logger;
        var meter = telemetry.Meter;
        meter.CreateObservableGauge("platform.ingest.log.bytes", () => log.UnshippedBytes, "By", "Bytes of acked events in the write-ahead log not yet in storage");
        meter.CreateObservableGauge("platform.ingest.log.max_bytes", () => log.MaxBytes, "By", "The log's bound (Log:MaxBytes); at it requests get 503");
        meter.CreateObservableGauge("platform.ingest.log.records", () => log.UnshippedRecords, "{record}", "Log records (requests) not yet in storage");
        meter.CreateObservableGauge("platform.ingest.log.oldest_unshipped_age", OldestUnshippedAge, "s",
            "Age of the oldest acked event whose events or current traits are not yet in storage: how stale queries are right now (0 when everything is shipped)");
        meter.CreateObservableGauge("platform.ingest.shipper.pending_states", () => target.PendingStates, "{row}",
            "Current-trait rows gathered from shipped blocks, waiting for the next state insert");
    }

    private double OldestUnshippedAge()
    {
        var oldest = _log.OldestUnshippedAppendedAtMicros;
        return oldest is null ? 0 : Math.Max(0, (_time.GetUtcNow().ToUnixTimeMilliseconds() * 1000) - oldest.Value) / 1e6;
    }

    /// <summary>True while the last insert attempt failed: storage is down and acked events wait in the log.</summary>
    public bool StorageFailing => _storageFailing;

    /// <summary>Set when the shipper stopped for good (the log's bytes are damaged); appends go on until the log is full.</summary>
    public Exception? Fault => _fault;

    /// <summary>
    /// Asks for the block being gathered to ship now and waits until everything before <paramref name="position"/>
    /// (an append's result) is in storage. False when <paramref name="timeout"/> passed first.
    /// </summary>
    public async Task<bool> WaitShippedAsync(LogPosition position, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        RequestFlush();
        while (true)
        {
            Task signal;
            lock (_signalLock)
            {
                if (_log.Shipped >= position)
                {
                    return true;
                }

                signal = _shippedSignal.Task;
            }

            var left = timeout - _time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                await signal.WaitAsync(left, _time, cancellationToken);
            }
            catch (TimeoutException)
            {
                return _log.Shipped >= position;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Let the host finish starting; the loop runs on the thread pool from here on.
        await Task.Yield();
        using var reader = _log.OpenReader(_log.Shipped);
        var block = new Block();
        try
        {
            while (true)
            {
                var stopping = stoppingToken.IsCancellationRequested;

                // Take whatever is durable now, up to a full block.
                Fill(reader, block);
                if (block.Records == 0)
                {
                    if (stopping)
                    {
                        if (_unflushedEnd is not null)
                        {
                            await CommitAsync(stoppingToken);
                        }

                        break;
                    }

                    if (_unflushedEnd is not null)
                    {
                        if (!await WaitWhileStatesPendAsync(reader, stoppingToken) && !await CommitAsync(stoppingToken))
                        {
                            break;
                        }

                        continue;
                    }

                    await WaitAsync(reader.WaitToReadAsync(IdleWait, stoppingToken).AsTask(), stoppingToken);
                    continue;
                }

                if (block.Events < _options.MaxBlockEvents && !stopping && !await WaitForMoreAsync(reader, block.OldestAppendedAtMicros, stoppingToken))
                {
                    continue;
                }

                if (!await ShipAsync(block, stoppingToken))
                {
                    break;
                }

                block.Clear();
            }
        }
        catch (LogCorruptException ex)
        {
            // Skipping damaged records would drop acked events; stopping keeps them for an operator to look at.
            _fault = ex;
            LogCorrupt(ex);
            return;
        }
        finally
        {
            block.Clear();
        }

        var left = _log.UnshippedBytes;
        if (left > 0)
        {
            LogLeftUnshipped(left);
        }
    }

    /// <summary>Adds durable records to the block, straight from their bytes, until it is full or none is left now.</summary>
    private void Fill(IngestLogReader reader, Block block)
    {
        while (block.Events < _options.MaxBlockEvents && reader.TryReadPayload(out var payload, out var appendedAtMicros))
        {
            block.Rows ??= _target.NewBlock(_options.MaxBlockEvents);
            block.Events += block.Rows.Add(payload);
            block.AppendedAtMicros.Add(appendedAtMicros);
            block.End = reader.Position;
        }
    }

    /// <summary>
    /// While a block is not full: waits for more records, for the block's age limit, for a request asking for a
    /// flush or for the stop. True when the block should ship now; false when more records arrived to take first.
    /// </summary>
    private async Task<bool> WaitForMoreAsync(IngestLogReader reader, long oldestAppendedAtMicros, CancellationToken stoppingToken)
    {
        var flush = FlushSignal();
        if (flush.IsCompleted)
        {
            ResetFlush();
            _flushAsked = true;
            return true;
        }

        var waited = TimeSpan.FromMicroseconds(Math.Max(0, _time.GetUtcNow().ToUnixTimeMilliseconds() * 1000 - oldestAppendedAtMicros));
        var left = _options.MaxBlockAge - waited;
        if (left <= TimeSpan.Zero)
        {
            return true;
        }

        var more = reader.WaitToReadAsync(left, stoppingToken).AsTask();
        var first = await Task.WhenAny(more, flush);
        if (first == flush)
        {
            ResetFlush();
            _flushAsked = true;
            return true;
        }

        // Records arrived (true): go and take them; the age limit or the stop (false or cancelled): ship.
        return !await WaitAsync(more, stoppingToken);
    }

    /// <summary>
    /// With every block shipped and states pending: waits for more records (true: go and take them), or for one block
    /// age of quiet, the state interval's end, a request asking for a flush or the stop (false: write the states now).
    /// </summary>
    private async Task<bool> WaitWhileStatesPendAsync(IngestLogReader reader, CancellationToken stoppingToken)
    {
        var flush = FlushSignal();
        var left = _options.StateInterval - _time.GetElapsedTime(_pendingSince);
        var wait = left < _options.MaxBlockAge ? left : _options.MaxBlockAge;
        if (flush.IsCompleted || wait <= TimeSpan.Zero)
        {
            return false;
        }

        var more = reader.WaitToReadAsync(wait, stoppingToken).AsTask();
        if (await Task.WhenAny(more, flush) == flush)
        {
            return false;
        }

        return await WaitAsync(more, stoppingToken);
    }

    /// <summary>
    /// Inserts a block's events until they are stored, then writes the pending states and moves the checkpoint when they
    /// are due (true); false when a stop's drain time ran out first.
    /// </summary>
    private async Task<bool> ShipAsync(Block block, CancellationToken stoppingToken)
    {
        var events = block.Events;
        var stored = await StoreAsync("storage.insert", events, block.Records, cancel => _target.InsertAsync(block.Rows!, cancel), stoppingToken);
        if (stored is not { } elapsed)
        {
            return false;
        }

        _telemetry.InsertDuration.Record(elapsed.TotalSeconds);
        _telemetry.InsertEvents.Record(events);
        _telemetry.InsertRequests.Record(block.Records);
        LogShipped(events, block.Records, elapsed.TotalMilliseconds);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        foreach (var appendedAtMicros in block.AppendedAtMicros)
        {
            _telemetry.ShipLag.Record(Math.Max(0, now - appendedAtMicros) / 1e6);
        }

        if (_unflushedEnd is null)
        {
            _pendingSince = _time.GetTimestamp();
        }

        _unflushedEnd = block.End;
        return !StatesDue(stoppingToken.IsCancellationRequested) || await CommitAsync(stoppingToken);
    }

    /// <summary>Whether the pending states are to be written now rather than gathered further.</summary>
    private bool StatesDue(bool stopping)
    {
        // A log over half full (catching up after an outage) needs its space back more than storage needs fewer state rows.
        return stopping || _flushAsked || FlushSignal().IsCompleted || _target.PendingStates == 0 || _target.PendingStates >= _options.MaxPendingStates
            || _time.GetElapsedTime(_pendingSince) >= _options.StateInterval || _log.UnshippedBytes > _log.MaxBytes / 2;
    }

    /// <summary>Writes the pending states until they are stored, then moves the checkpoint past their blocks (true); false when a stop's drain time ran out first.</summary>
    private async Task<bool> CommitAsync(CancellationToken stoppingToken)
    {
        var states = _target.PendingStates;
        var stored = await StoreAsync("storage.insert_states", states, 0, _target.FlushStatesAsync, stoppingToken);
        if (stored is not { } elapsed)
        {
            return false;
        }

        LogStatesWritten(states, elapsed.TotalMilliseconds);
        var end = _unflushedEnd!.Value;
        _unflushedEnd = null;
        _flushAsked = false;
        await MarkShippedAsync(end);
        return true;
    }

    /// <summary>
    /// Runs one insert until storage confirmed it (its duration), retrying with backoff; null when a stop's drain time
    /// ran out first.
    /// </summary>
    private async Task<TimeSpan?> StoreAsync(string name, int rows, int records, Func<CancellationToken, Task> insert, CancellationToken stoppingToken)
    {
        var delay = _options.RetryDelay;
        var attempts = 0;
        while (true)
        {
            var started = Stopwatch.GetTimestamp();
            var timeout = _options.InsertTimeout;
            if (stoppingToken.IsCancellationRequested)
            {
                var drainLeft = DrainTimeLeft();
                if (drainLeft <= TimeSpan.Zero)
                {
                    return null;
                }

                timeout = drainLeft < timeout ? drainLeft : timeout;
            }

            attempts++;
            using (var span = IngestTelemetry.Source.StartActivity(name))
            using (var cancel = new CancellationTokenSource(timeout, _time))
            {
                span?.SetTag("platform.rows", rows);
                span?.SetTag("platform.requests", records);
                try
                {
                    await insert(cancel.Token);
                    if (_storageFailing)
                    {
                        _storageFailing = false;
                        LogStorageBack(attempts);
                    }

                    return Stopwatch.GetElapsedTime(started);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    span?.SetStatus(ActivityStatusCode.Error, "insert failed");
                    _telemetry.StorageErrors.Add(1);
                    if (!_storageFailing || attempts % 20 == 0)
                    {
                        LogInsertFailed(ex, name, rows, attempts, delay);
                    }

                    _storageFailing = true;
                }
            }

            // Once stopping, the delay runs out on its own: a cancelled token must not turn the retries into a busy loop.
            var backoff = stoppingToken.IsCancellationRequested ? Task.Delay(Min(delay, DrainTimeLeft()), _time, CancellationToken.None) : Task.Delay(delay, _time, stoppingToken);
            await WaitAsync(backoff, stoppingToken);
            delay = delay * 2 < _options.MaxRetryDelay ? delay * 2 : _options.MaxRetryDelay;
        }
    }

    /// <summary>Moves the checkpoint; a failure to write it (a disk error) is retried, since the block is already stored.</summary>
    private async Task MarkShippedAsync(LogPosition next)
    {
        var delay = _options.RetryDelay;
        while (true)
        {
            try
            {
                await _log.MarkShippedAsync(next);
                break;
            }
            catch (IOException ex)
            {
                LogCheckpointFailed(ex);
                await Task.Delay(delay, _time, CancellationToken.None);
                delay = delay * 2 < _options.MaxRetryDelay ? delay * 2 : _options.MaxRetryDelay;
            }
        }

        TaskCompletionSource shipped;
        lock (_signalLock)
        {
            shipped = _shippedSignal;
            _shippedSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        shipped.TrySetResult();
    }

    /// <summary>How much of the drain time is left; the clock starts at the first call after the stop was requested.</summary>
    private TimeSpan DrainTimeLeft()
    {
        if (_drainStarted == 0)
        {
            _drainStarted = _time.GetTimestamp();
            LogDraining(_log.UnshippedBytes, _options.DrainTimeout);
        }

        return _options.DrainTimeout - _time.GetElapsedTime(_drainStarted);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? (a < TimeSpan.Zero ? TimeSpan.Zero : a) : (b < TimeSpan.Zero ? TimeSpan.Zero : b);

    private void RequestFlush()
    {
        lock (_signalLock)
        {
            _flushSignal.TrySetResult();
        }
    }

    /// <summary>The current flush request: completed once a request asked for one, until <see cref="ResetFlush"/>.</summary>
    private Task FlushSignal()
    {
        lock (_signalLock)
        {
            return _flushSignal.Task;
        }
    }

    private void ResetFlush()
    {
        lock (_signalLock)
        {
            if (_flushSignal.Task.IsCompleted)
            {
                _flushSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Awaits a wait that the stop may cancel; a cancelled wait counts as "nothing more came" (false).</summary>
    private static async Task<bool> WaitAsync(Task wait, CancellationToken stoppingToken)
    {
        try
        {
            await wait;
            return wait is Task<bool> result && result.Result;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shipped {Events} events from {Records} log records in {Milliseconds:F1} ms")]
    private partial void LogShipped(int events, int records, double milliseconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Wrote {States} current-trait rows in {Milliseconds:F1} ms")]
    private partial void LogStatesWritten(int states, double milliseconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Shipping failed ({Insert} of {Rows} rows, attempt {Attempt}); acked events stay in the log, next try in {Delay}")]
    private partial void LogInsertFailed(Exception ex, string insert, int rows, int attempt, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage accepted the log's block again after {Attempts} attempts")]
    private partial void LogStorageBack(int attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Recording the log's shipped position failed; retrying (the block is stored and replays harmlessly if ingest stops now)")]
    private partial void LogCheckpointFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: shipping the {Bytes} bytes left in the log, for up to {Timeout}")]
    private partial void LogDraining(long bytes, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopped with {Bytes} bytes of acked events unshipped; they ship when ingest starts again on the same log directory")]
    private partial void LogLeftUnshipped(long bytes);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The write-ahead log is damaged; shipping stopped and nothing was skipped. Acked events stay in the log; restore the volume or move the damaged segment aside to go on")]
    private partial void LogCorrupt(Exception ex);

    /// <summary>The records gathered for the next insert: their rows, and what the checkpoint and the lag need.</summary>
    private sealed class Block
    {
        public IShippingBlock? Rows { get; set; }

        public int Events { get; set; }

        /// <summary>Each record's append time, oldest first.</summary>
        public List<long> AppendedAtMicros { get; } = [];

        public int Records => AppendedAtMicros.Count;

        public long OldestAppendedAtMicros => AppendedAtMicros[0];

        /// <summary>Where the record after the block's last starts: the checkpoint once the block is stored.</summary>
        public LogPosition End { get; set; }

        public void Clear()
        {
            Rows?.Dispose();
            Rows = null;
            Events = 0;
            AppendedAtMicros.Clear();
        }
    }
}
