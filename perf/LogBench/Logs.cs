using System.Buffers;
using System.Collections.Concurrent;
using FASTER.core;
using Platform.Ingest.Log;
using Platform.Ingest.Storage;

namespace Platform.Perf.LogBench;

/// <summary>One log under test: append a batch and return once it is durable; reopen and read everything back.</summary>
internal interface IBenchLog : IAsyncDisposable
{
    /// <summary>Encodes <paramref name="batch"/> on the caller's thread and completes once it is durable.</summary>
    ValueTask AppendAsync(IngestBatch batch);

    /// <summary>Fsyncs of record data so far, where the log counts them; -1 where it does not.</summary>
    long Syncs { get; }

    /// <summary>Reads every unshipped record back and decodes it; returns the events read.</summary>
    ValueTask<long> ReadAllAsync();
}

/// <summary>The kinds of log the bench knows, by the name given on the command line.</summary>
internal static class BenchLogs
{
    public static readonly string[] All = ["ours", "faster-auto", "faster-auto-crc", "faster-group-crc"];

    public static IBenchLog Open(string kind, string directory) => kind switch
    {
        "ours" => new OurLog(directory),
        // FasterLog as its documentation shows it: every enqueue asks for a commit (AutoCommit), default commit policy, no checksums.
        "faster-auto" => new FasterBenchLog(directory, checksums: false, groupCommit: false),
        // The same with what our log has: a checksum per entry, and the commit point kept in the log itself (FastCommitMode, one write per commit instead of two).
        "faster-auto-crc" => new FasterBenchLog(directory, checksums: true, groupCommit: false),
        // Checksums and fast commits, and one committer that commits whatever was enqueued while the previous commit ran: our log's group commit.
        "faster-group-crc" => new FasterBenchLog(directory, checksums: true, groupCommit: true),
        _ => throw new ArgumentException($"unknown log '{kind}'; known: {string.Join(", ", All)}", nameof(kind)),
    };
}

internal sealed class OurLog(string directory) : IBenchLog
{
    private readonly IngestLog _log = IngestLog.Open(directory, maxBytes: 64L << 30, segmentBytes: 64L << 20);

    public long Syncs => _log.FlushCount;

    public async ValueTask AppendAsync(IngestBatch batch) => await _log.AppendAsync(batch);

    public ValueTask<long> ReadAllAsync()
    {
        long events = 0;
        using var reader = _log.OpenReader(_log.Shipped);
        while (reader.TryRead(out var record))
        {
            events += record.Batch.Events.Count;
        }

        return ValueTask.FromResult(events);
    }

    public ValueTask DisposeAsync() => _log.DisposeAsync();
}

internal sealed class FasterBenchLog : IBenchLog
{
    private readonly FasterLogSettings _settings;
    private readonly FasterLog _log;
    private readonly bool _groupCommit;
    private readonly SemaphoreSlim _enqueued = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _committer = Task.CompletedTask;
    private readonly ConcurrentQueue<ArrayBufferWriter<byte>> _buffers = new();

    public FasterBenchLog(string directory, bool checksums, bool groupCommit)
    {
        _groupCommit = groupCommit;
        _settings = new FasterLogSettings(directory)
        {
            // Segment files of 64 MiB like ours; pages of 4 MiB (the default) hold a 50-event record many times over.
            SegmentSize = 64L << 20,
            PageSize = 4L << 20,
            MemorySize = 16L << 20,
            AutoCommit = !groupCommit,
            LogChecksum = checksums ? LogChecksumType.PerEntry : LogChecksumType.None,
            FastCommitMode = checksums,
        };
        _log = new FasterLog(_settings);
        if (groupCommit)
        {
            _committer = Task.Run(CommitLoopAsync);
        }
    }

    public long Syncs => -1;

    public async ValueTask AppendAsync(IngestBatch batch)
    {
        // Encoding on the caller's thread into a pooled buffer, as our log does.
        if (!_buffers.TryDequeue(out var buffer))
        {
            buffer = new ArrayBufferWriter<byte>(64 * 1024);
        }

        buffer.ResetWrittenCount();
        IngestBatchCodec.Encode(batch, buffer);
        try
        {
            if (!_groupCommit)
            {
                await _log.EnqueueAndWaitForCommitAsync(buffer.WrittenMemory);
                return;
            }

            var address = await _log.EnqueueAsync(buffer.WrittenMemory);
            _enqueued.Release();
            await _log.WaitForCommitAsync(address + 1);
        }
        finally
        {
            _buffers.Enqueue(buffer);
        }
    }

    public async ValueTask<long> ReadAllAsync()
    {
        long events = 0;
        var end = _log.TailAddress;
        using var iterator = _log.Scan(_log.BeginAddress, end);
        while (true)
        {
            IMemoryOwner<byte> entry;
            int length;
            while (!iterator.GetNext(MemoryPool<byte>.Shared, out entry, out length, out _, out _))
            {
                if (iterator.NextAddress >= end)
                {
                    return events;
                }

                await iterator.WaitAsync();
            }

            using (entry)
            {
                events += IngestBatchCodec.Decode(entry.Memory.Span[..length]).Events.Count;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _committer;
        }
        catch (OperationCanceledException)
        {
            // The committer was waiting for work.
        }

        await _log.CommitAsync();
        _log.Dispose();
        _settings.Dispose();
        _stop.Dispose();
        _enqueued.Dispose();
    }

    private async Task CommitLoopAsync()
    {
        while (true)
        {
            await _enqueued.WaitAsync(_stop.Token);
            // Everything enqueued while the previous commit ran goes into this one.
            while (_enqueued.CurrentCount > 0 && _enqueued.Wait(0))
            {
            }

            await _log.CommitAsync(_stop.Token);
        }
    }
}
