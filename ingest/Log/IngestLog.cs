using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;
using Platform.Ingest.Storage;
using Platform.Ingest.Writing;

namespace Platform.Ingest.Log;

/// <summary>
/// Ingest's write-ahead log: a request's batch is appended and the append completes only once the record is written
/// and fsynced. One writer thread takes every append queued so far, writes them with one gathered write and covers
/// them with one fsync (group commit). A shipper reads durable records with <see cref="OpenReader"/>, loads them into
/// storage and calls <see cref="MarkShippedAsync"/>, which records the checkpoint durably and deletes shipped segments.
/// Guarantees:
/// <list type="bullet">
/// <item>An append that completes is on disk (file data fsynced; a new segment's directory entry fsynced before use).</item>
/// <item>An append that fails (<see cref="LogFullException"/>, <see cref="LogWriteException"/>) was not acknowledged and
/// its bytes were cut off again, so no later record follows a half-written one.</item>
/// <item>Readers see only fsynced records, in append order; every record is checked against its CRC-32C when read.</item>
/// <item>Opening recovers: replay starts at the checkpoint; a torn tail of the last segment (a crash mid-append, never
/// acknowledged) is truncated; damage anywhere else stops the open with <see cref="LogCorruptException"/>.</item>
/// <item>Unshipped data is bounded by MaxBytes; beyond it appends are refused at once, never dropped.</item>
/// </list>
/// </summary>
internal sealed partial class IngestLog : IAsyncDisposable
{
    /// <summary>Linux takes at most 1024 buffers in one pwritev.</summary>
    private const int MaxBuffersPerWrite = 512;

    private readonly string _directory;
    private readonly long _maxBytes;
    private readonly long _segmentBytes;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<PendingAppend> _queue = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions
    {
        SingleReader = true,
        AllowSynchronousContinuations = false,
    });

    private readonly Thread _writerThread;
    private readonly TaskCompletionSource _writerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _shipLock = new(1, 1);

    // Segments by first offset; the last one is the one being written. Guarded by _segmentsLock.
    private readonly object _segmentsLock = new();
    private readonly List<long> _segments;

    // Positions and the wake-up signal for readers. Guarded by _stateLock.
    private readonly object _stateLock = new();
    private LogPosition _durableEnd;
    private LogPosition _shipped;
    private long _oldestUnshippedMicros;
    private TaskCompletionSource _durableSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closed;

    // Owned by the writer thread.
    private SafeFileHandle _active;
    private long _activeFirstOffset;
    private long _activeBytes;
    private ulong _commit;

    // Queued plus durable-unshipped frame bytes, per tenant: the MaxBytes budget, shared fairly when congested.
    private readonly FairShare _shares;

    // The durable records appended by this process and not yet shipped, in log order: whose bytes a shipped range frees.
    // Guarded by _stateLock. Records recovered at start are nobody's.
    private readonly Queue<ShareEntry> _unshippedShares = new();
    private long _flushes;
    private volatile Exception? _fault;
    private int _disposed;

    private IngestLog(string directory, long maxBytes, long segmentBytes, double fairShareAbove, TimeProvider time, ILogger logger, LogRecovery.Result recovered)
    {
        _directory = directory;
        _maxBytes = maxBytes;
        _segmentBytes = segmentBytes;
        _time = time;
        _logger = logger;
        _segments = recovered.Segments;
        _shipped = recovered.Shipped;
        _durableEnd = recovered.End;
        _oldestUnshippedMicros = recovered.OldestAppendedAtMicros;
        _shares = new FairShare(maxBytes, fairShareAbove);
        _shares.AddUnowned(recovered.End.Offset - recovered.Shipped.Offset);
        _active = recovered.Active;
        _activeFirstOffset = _segments[^1];
        _activeBytes = recovered.End.Offset - _activeFirstOffset;
        // Commit numbers only grow, across restarts too (recovery tells torn writes apart by them).
        _commit = Math.Max(recovered.LastCommit, (ulong)Math.Max(0, time.GetUtcNow().ToUnixTimeMilliseconds() * 1000));
        _writerThread = new Thread(WriteLoop) { IsBackground = true, Name = "ingest-log-writer" };
        _writerThread.Start();
    }

    /// <summary>
    /// Opens (creating if needed) the log in <paramref name="directory"/> and recovers it; see the class summary. Once
    /// more than <paramref name="fairShareAbove"/> of <paramref name="maxBytes"/> is used, a tenant holding its fair share
    /// of the budget or more is refused (<see cref="FairShareExceededException"/>) while others are still taken.
    /// </summary>
    public static IngestLog Open(string directory, long maxBytes, long segmentBytes, TimeProvider? time = null, ILogger? logger = null, double fairShareAbove = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentBytes, 4096);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, segmentBytes);
        logger ??= NullLogger.Instance;
        var recovered = LogRecovery.Recover(Path.GetFullPath(directory), logger);
        return new IngestLog(Path.GetFullPath(directory), maxBytes, segmentBytes, fairShareAbove, time ?? TimeProvider.System, logger, recovered);
    }

    public string Directory => _directory;

    internal TimeProvider TimeProvider => _time;

    /// <summary>The end of the last fsynced record: what readers can read up to.</summary>
    public LogPosition DurableEnd
    {
        get
        {
            lock (_stateLock)
            {
                return _durableEnd;
            }
        }
    }

    /// <summary>The checkpoint: everything before it is shipped. Replay after a restart starts here.</summary>
    public LogPosition Shipped
    {
        get
        {
            lock (_stateLock)
            {
                return _shipped;
            }
        }
    }

    /// <summary>Bytes of durable records not yet shipped (frame headers included).</summary>
    public long UnshippedBytes
    {
        get
        {
            lock (_stateLock)
            {
                return _durableEnd.Offset - _shipped.Offset;
            }
        }
    }

    /// <summary>Durable records not yet shipped.</summary>
    public long UnshippedRecords
    {
        get
        {
            lock (_stateLock)
            {
                return _durableEnd.Sequence - _shipped.Sequence;
            }
        }
    }

    /// <summary>When the oldest unshipped record was appended (µs since the epoch), or null when everything is shipped: the freshness lag is now minus this.</summary>
    public long? OldestUnshippedAppendedAtMicros
    {
        get
        {
            lock (_stateLock)
            {
                return _durableEnd.Offset == _shipped.Offset ? null : _oldestUnshippedMicros;
            }
        }
    }

    /// <summary>Bytes counted against MaxBytes: queued appends and unshipped records.</summary>
    public long UsedBytes => _shares.Used;

    /// <summary>Each tenant's queued and unshipped records appended by this process: bytes and events.</summary>
    public List<(string Tenant, long Bytes, long Events)> UnshippedByTenant() => _shares.Holdings();

    /// <summary>Whether an append of <paramref name="tenant"/> would now be refused for fairness, whatever its size.</summary>
    public bool IsOverFairShare(string tenant) => _shares.IsOverFairShare(tenant);

    public long MaxBytes => _maxBytes;

    /// <summary>How many fsyncs of record data the writer made (for tests that check one fsync covers several appends).</summary>
    internal long FlushCount => Interlocked.Read(ref _flushes);

    /// <summary>
    /// Encodes <paramref name="batch"/> on the caller's thread, queues it, and completes with its position once it is
    /// fsynced. Throws <see cref="LogFullException"/> at once when it would take the log past MaxBytes,
    /// <see cref="FairShareExceededException"/> when the log is congested and the batch's tenant holds its fair share of it, and
    /// <see cref="LogWriteException"/> when the write or fsync failed or the log is closed; in every failure the record
    /// is not in the log. There is no cancellation: once queued, an append is written or failed, never abandoned,
    /// so a caller never releases dedup reservations for events that then became durable.
    /// </summary>
    public ValueTask<LogPosition> AppendAsync(IngestBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var frame = new FrameBuffer(256 + (batch.Events.Count * 512));
        try
        {
            IngestBatchCodec.Encode(batch, frame);
        }
        catch
        {
            frame.Dispose();
            throw;
        }

        return AppendFrameAsync(frame, batch.Tenant, batch.Events.Count);
    }

    /// <summary>
    /// Appends a record whose payload (an encoded batch) is already in <paramref name="frame"/>; takes ownership of it.
    /// Its bytes are <paramref name="tenant"/>'s share of the budget until shipped (null: nobody's, never refused for fairness).
    /// </summary>
    internal ValueTask<LogPosition> AppendFrameAsync(FrameBuffer frame, string? tenant = null, int events = 0)
    {
        if (frame.PayloadLength > LogFormat.MaxPayloadBytes)
        {
            frame.Dispose();
            throw new ArgumentException($"a record of {frame.PayloadLength} bytes exceeds the log's {LogFormat.MaxPayloadBytes}", nameof(frame));
        }

        var size = frame.FrameLength;
        switch (_shares.TryTake(tenant, size, events))
        {
            case ShareVerdict.Full:
                frame.Dispose();
                throw new LogFullException(_shares.Used, _maxBytes);
            case ShareVerdict.OverFairShare:
                frame.Dispose();
                throw new FairShareExceededException();
        }

        var fault = _fault;
        var pending = new PendingAppend(frame, tenant, events);
        if (fault is not null || !_queue.Writer.TryWrite(pending))
        {
            _shares.Release(tenant, size, events);
            frame.Dispose();
            throw fault is null
                ? new LogWriteException("the log is closed")
                : new LogWriteException("the log stopped accepting appends after a write it could not undo; restart to recover", fault);
        }

        return new ValueTask<LogPosition>(pending.Completion.Task);
    }

    /// <summary>A reader of durable records from <paramref name="from"/> on (at or after the checkpoint; normally <see cref="Shipped"/>).</summary>
    public IngestLogReader OpenReader(LogPosition from)
    {
        var shipped = Shipped;
        if (from < shipped || from > DurableEnd)
        {
            throw new ArgumentOutOfRangeException(nameof(from), from, $"a reader must start between the checkpoint {shipped} and the durable end {DurableEnd}");
        }

        return new IngestLogReader(this, from);
    }

    /// <summary>
    /// Records durably that everything before <paramref name="upTo"/> (a record's <see cref="LogRecord.Next"/>) is
    /// shipped, frees that much of the MaxBytes budget and deletes the segments that lie wholly before it. Positions
    /// behind the checkpoint are ignored; a position past the durable end is an error.
    /// </summary>
    public async ValueTask MarkShippedAsync(LogPosition upTo, CancellationToken cancellationToken = default)
    {
        await _shipLock.WaitAsync(cancellationToken);
        try
        {
            var previous = Shipped;
            if (upTo <= previous)
            {
                return;
            }

            if (upTo > DurableEnd || upTo.Sequence <= previous.Sequence)
            {
                throw new ArgumentOutOfRangeException(nameof(upTo), upTo, $"not a durable record boundary after the checkpoint {previous} (durable end {DurableEnd})");
            }

            // The checkpoint first: once it is durable the segments before it may go.
            await Task.Run(() => LogCheckpoint.Write(_directory, upTo), CancellationToken.None);
            while (true)
            {
                var end = DurableEnd;
                // The header of the first unshipped record says when it was appended; the bytes before the durable end never change.
                var oldest = upTo < end ? ReadFrameHeader(upTo.Offset).AppendedAtMicros : 0;
                lock (_stateLock)
                {
                    if (_durableEnd == end)
                    {
                        _shipped = upTo;
                        _oldestUnshippedMicros = oldest;
                        break;
                    }
                }
            }

            ReleaseShipped(upTo.Offset - previous.Offset, upTo.Offset);
            DeleteSegmentsBefore(upTo.Offset);
        }
        finally
        {
            _shipLock.Release();
        }
    }

    /// <summary>Gives the shipped records' bytes back to their tenants' shares; what is left of <paramref name="bytes"/> was nobody's (recovered at start).</summary>
    private void ReleaseShipped(long bytes, long upToOffset)
    {
        List<ShareEntry>? shipped = null;
        lock (_stateLock)
        {
            while (_unshippedShares.TryPeek(out var entry) && entry.End <= upToOffset)
            {
                (shipped ??= []).Add(_unshippedShares.Dequeue());
            }
        }

        foreach (var entry in shipped ?? [])
        {
            _shares.Release(entry.Tenant, entry.Bytes, entry.Events);
            bytes -= entry.Bytes;
        }

        _shares.Release(null, bytes, 0);
    }

    /// <summary>Stops taking appends, writes and fsyncs everything already queued (acknowledging it), and closes the files.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _writerDone.Task;
        _active.Dispose();
        lock (_stateLock)
        {
            _closed = true;
            _durableSignal.TrySetResult();
        }

        _shipLock.Dispose();
    }

    /// <summary>For readers: the durable end, whether the log is closed, and a task that completes at the next change.</summary>
    internal (LogPosition End, bool Closed, Task Changed) WatchDurableEnd()
    {
        lock (_stateLock)
        {
            return (_durableEnd, _closed, _durableSignal.Task);
        }
    }

    /// <summary>The first offset of the segment holding <paramref name="offset"/>, and the first offset of the next one (or long.MaxValue).</summary>
    internal (long First, long Next) FindSegment(long offset)
    {
        lock (_segmentsLock)
        {
            var index = _segments.BinarySearch(offset);
            if (index < 0)
            {
                index = ~index - 1;
            }

            if (index < 0)
            {
                throw new InvalidOperationException($"offset {offset} lies before the log's first segment (it was shipped and deleted)");
            }

            return (_segments[index], index + 1 < _segments.Count ? _segments[index + 1] : long.MaxValue);
        }
    }

    internal string SegmentPath(long firstOffset) => Path.Combine(_directory, LogFormat.SegmentFileName(firstOffset));

    private FrameHeader ReadFrameHeader(long offset)
    {
        var (first, _) = FindSegment(offset);
        using var handle = File.OpenHandle(SegmentPath(first), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Span<byte> header = stackalloc byte[LogFormat.FrameHeaderSize];
        var read = RandomAccess.Read(handle, header, LogFormat.SegmentHeaderSize + offset - first);
        if (read < header.Length || !LogFormat.TryReadFrameHeader(header, out var frame))
        {
            throw new LogCorruptException($"no record header at offset {offset} of segment {LogFormat.SegmentFileName(first)}");
        }

        return frame;
    }

    private void DeleteSegmentsBefore(long offset)
    {
        List<long> shipped = [];
        lock (_segmentsLock)
        {
            // Never the segment being written, even when everything in it is shipped.
            while (_segments.Count > 1 && _segments[1] <= offset)
            {
                shipped.Add(_segments[0]);
                _segments.RemoveAt(0);
            }
        }

        foreach (var first in shipped)
        {
            try
            {
                File.Delete(SegmentPath(first));
            }
            catch (IOException ex)
            {
                // Harmless: recovery deletes segments wholly before the checkpoint.
                LogSegmentDeleteFailed(ex, LogFormat.SegmentFileName(first));
            }
        }
    }

    private void WriteLoop()
    {
        var reader = _queue.Reader;
        var taken = new List<PendingAppend>();
        try
        {
            // On dispose the queue is completed; what is in it is still written and acknowledged.
            while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (reader.TryRead(out var pending))
                {
                    taken.Add(pending);
                }

                Commit(taken);
                taken.Clear();
            }
        }
        catch (Exception ex)
        {
            // A bug, not an IO failure (those are handled per commit): fail whatever is left rather than hang callers.
            _fault = ex;
            LogWriterCrashed(ex);
            foreach (var pending in taken)
            {
                Fail(pending, ex);
            }

            while (reader.TryRead(out var pending))
            {
                Fail(pending, ex);
            }
        }
        finally
        {
            _writerDone.TrySetResult();
        }
    }

    /// <summary>Writes and fsyncs <paramref name="taken"/> in chunks that fit the current segment; each chunk is acknowledged once durable.</summary>
    private void Commit(List<PendingAppend> taken)
    {
        var next = 0;
        var buffers = new List<ReadOnlyMemory<byte>>(Math.Min(taken.Count, MaxBuffersPerWrite));
        while (next < taken.Count)
        {
            var fault = _fault;
            if (fault is not null)
            {
                FailFrom(taken, next, fault);
                return;
            }

            if (_activeBytes > 0 && _activeBytes + taken[next].Frame.FrameLength > _segmentBytes)
            {
                try
                {
                    Roll();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    LogWriteFailed(ex, taken.Count - next);
                    FailFrom(taken, next, ex);
                    return;
                }
            }

            // One chunk: what fits this segment (at least one record), at most MaxBuffersPerWrite records.
            var commit = ++_commit;
            var appendedAt = _time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
            var start = next;
            long bytes = 0;
            buffers.Clear();
            while (next < taken.Count && buffers.Count < MaxBuffersPerWrite
                && (bytes == 0 || _activeBytes + bytes + taken[next].Frame.FrameLength <= _segmentBytes))
            {
                var frame = taken[next].Frame;
                LogFormat.SealFrame(frame.Frame.Span, commit, appendedAt);
                buffers.Add(frame.Frame);
                bytes += frame.FrameLength;
                next++;
            }

            var fileOffset = LogFormat.SegmentHeaderSize + _activeBytes;
            try
            {
                RandomAccess.Write(_active, buffers, fileOffset);
                RandomAccess.FlushToDisk(_active);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogWriteFailed(ex, taken.Count - start);
                Undo(fileOffset, ex);
                FailFrom(taken, start, ex);
                return;
            }

            Interlocked.Increment(ref _flushes);
            _activeBytes += bytes;
            Publish(taken, start, next, appendedAt);
        }
    }

    private void Publish(List<PendingAppend> taken, int start, int end, long appendedAt)
    {
        var positions = new LogPosition[end - start];
        TaskCompletionSource signal;
        lock (_stateLock)
        {
            var position = _durableEnd;
            for (var i = start; i < end; i++)
            {
                var pending = taken[i];
                position = new LogPosition(position.Offset + pending.Frame.FrameLength, position.Sequence + 1);
                positions[i - start] = position;
                if (pending.Tenant is not null)
                {
                    _unshippedShares.Enqueue(new ShareEntry(position.Offset, pending.Tenant, pending.Frame.FrameLength, pending.Events));
                }
            }

            if (_shipped.Offset == _durableEnd.Offset)
            {
                // The log was empty: this chunk's first record is now the oldest unshipped one.
                _oldestUnshippedMicros = appendedAt;
            }

            _durableEnd = position;
            signal = _durableSignal;
            _durableSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        signal.TrySetResult();
        for (var i = start; i < end; i++)
        {
            taken[i].Frame.Dispose();
            // The position after the record: what MarkShippedAsync takes once it is shipped.
            taken[i].Completion.TrySetResult(positions[i - start]);
        }
    }

    /// <summary>Cuts a failed write off again, so the next record follows the last durable one; when even that fails, the log refuses appends until a restart recovers it.</summary>
    private void Undo(long fileOffset, Exception cause)
    {
        try
        {
            RandomAccess.SetLength(_active, fileOffset);
            RandomAccess.FlushToDisk(_active);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _fault = new LogWriteException($"could not cut a failed write off segment {LogFormat.SegmentFileName(_activeFirstOffset)}", new AggregateException(cause, ex));
            LogFaulted(ex);
        }
    }

    /// <summary>Starts a new segment at the durable end: header written and fsynced, directory entry fsynced, then used.</summary>
    private void Roll()
    {
        var first = _activeFirstOffset + _activeBytes;
        var path = SegmentPath(first);
        SafeFileHandle? handle = null;
        try
        {
            handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
            Span<byte> header = stackalloc byte[LogFormat.SegmentHeaderSize];
            LogFormat.WriteSegmentHeader(header, first);
            RandomAccess.Write(handle, header, 0);
            RandomAccess.FlushToDisk(handle);
            LogCheckpoint.FlushDirectory(_directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            handle?.Dispose();
            try
            {
                File.Delete(path);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // A stray empty segment would sit behind records appended to the old one: stop instead.
                _fault = new LogWriteException($"could not remove the half-created segment {path}", new AggregateException(ex, cleanup));
                LogFaulted(cleanup);
            }

            throw;
        }

        lock (_segmentsLock)
        {
            _segments.Add(first);
        }

        _active.Dispose();
        _active = handle;
        _activeFirstOffset = first;
        _activeBytes = 0;
    }

    private void FailFrom(List<PendingAppend> taken, int start, Exception cause)
    {
        for (var i = start; i < taken.Count; i++)
        {
            Fail(taken[i], cause);
        }
    }

    private void Fail(PendingAppend pending, Exception cause)
    {
        _shares.Release(pending.Tenant, pending.Frame.FrameLength, pending.Events);
        pending.Frame.Dispose();
        pending.Completion.TrySetException(cause as LogWriteException ?? new LogWriteException("the log could not write and fsync the record", cause));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Write-ahead log write or fsync failed; {Appends} appends are refused")]
    private partial void LogWriteFailed(Exception ex, int appends);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Write-ahead log could not undo a failed write; it refuses appends until a restart recovers it")]
    private partial void LogFaulted(Exception ex);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Write-ahead log writer stopped on an unexpected error")]
    private partial void LogWriterCrashed(Exception ex);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shipped segment {Segment} could not be deleted; recovery deletes it at the next start")]
    private partial void LogSegmentDeleteFailed(Exception ex, string segment);

    /// <summary>A durable record's share: it ends at <paramref name="End"/>.</summary>
    private readonly record struct ShareEntry(long End, string Tenant, long Bytes, long Events);

    private sealed class PendingAppend(FrameBuffer frame, string? tenant, int events)
    {
        public FrameBuffer Frame { get; } = frame;

        public string? Tenant { get; } = tenant;

        public int Events { get; } = events;

        public TaskCompletionSource<LogPosition> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
