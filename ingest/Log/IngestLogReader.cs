using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Win32.SafeHandles;

namespace Platform.Ingest.Log;

/// <summary>
/// Reads durable records in order, for the shipper. <see cref="TryRead"/> never waits: a shipper building a block
/// takes records until it has enough events or none is left, then waits for more with <see cref="WaitToReadAsync"/>,
/// bounded by the age it allows a block. Not thread-safe: one reader, one consumer.
/// </summary>
internal sealed class IngestLogReader : IDisposable
{
    private readonly IngestLog _log;
    private LogPosition _position;
    private SafeFileHandle? _segment;
    private long _segmentFirst;
    private long _segmentNext;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);

    internal IngestLogReader(IngestLog log, LogPosition from)
    {
        _log = log;
        _position = from;
    }

    /// <summary>Where the next record starts.</summary>
    public LogPosition Position => _position;

    /// <summary>
    /// The next durable record, if there is one now, decoded. Throws <see cref="LogCorruptException"/> when the record's
    /// bytes no longer match their checksum (media damage after the write).
    /// </summary>
    public bool TryRead([NotNullWhen(true)] out LogRecord? record)
    {
        var start = _position;
        if (!TryReadPayload(out var payload, out var appendedAtMicros))
        {
            record = null;
            return false;
        }

        record = new LogRecord(IngestBatchCodec.Decode(payload), start, _position, appendedAtMicros);
        return true;
    }

    /// <summary>
    /// The next durable record's payload (an encoded batch, checksum verified), if there is one now; the bytes are
    /// valid until the next read. <see cref="Position"/> is then where the following record starts.
    /// </summary>
    public bool TryReadPayload(out ReadOnlySpan<byte> payload, out long appendedAtMicros)
    {
        ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
        payload = default;
        appendedAtMicros = 0;
        var end = _log.WatchDurableEnd().End;
        if (_position >= end)
        {
            return false;
        }

        // The segment being written has no known end: look again, the writer may have started the next one.
        if (_segment is null || _position.Offset >= _segmentNext || _segmentNext == long.MaxValue)
        {
            OpenSegment();
        }

        var fileOffset = LogFormat.SegmentHeaderSize + _position.Offset - _segmentFirst;
        var header = _buffer.AsSpan(0, LogFormat.FrameHeaderSize);
        if (RandomAccess.Read(_segment!, header, fileOffset) < header.Length || !LogFormat.TryReadFrameHeader(header, out var frame)
            || _position.Offset + frame.FrameLength > end.Offset)
        {
            throw Damaged("no valid record header");
        }

        if (_buffer.Length < frame.FrameLength)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(frame.FrameLength);
        }

        var bytes = _buffer.AsSpan(0, frame.FrameLength);
        if (RandomAccess.Read(_segment!, bytes, fileOffset) < bytes.Length || !LogFormat.HasValidChecksum(bytes))
        {
            throw Damaged("checksum mismatch");
        }

        payload = bytes[LogFormat.FrameHeaderSize..];
        appendedAtMicros = frame.AppendedAtMicros;
        _position = new LogPosition(_position.Offset + frame.FrameLength, _position.Sequence + 1);
        return true;
    }

    /// <summary>
    /// Waits until a durable record is there to read (true), <paramref name="timeout"/> passes or the log is closed
    /// with nothing left to read (false). Cancellation throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public async ValueTask<bool> WaitToReadAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = _log.TimeProvider.GetTimestamp();
        while (true)
        {
            var (end, closed, changed) = _log.WatchDurableEnd();
            if (_position < end)
            {
                return true;
            }

            if (closed)
            {
                return false;
            }

            var left = timeout - _log.TimeProvider.GetElapsedTime(deadline);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                await changed.WaitAsync(left, _log.TimeProvider, cancellationToken);
            }
            catch (TimeoutException)
            {
                return false;
            }
        }
    }

    public void Dispose()
    {
        _segment?.Dispose();
        _segment = null;
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private void OpenSegment()
    {
        var (first, next) = _log.FindSegment(_position.Offset);
        _segmentNext = next;
        if (_segment is not null && first == _segmentFirst)
        {
            return;
        }

        _segment?.Dispose();
        _segment = File.OpenHandle(_log.SegmentPath(first), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        _segmentFirst = first;
    }

    private LogCorruptException Damaged(string reason) =>
        new($"log record at {_position} in segment {LogFormat.SegmentFileName(_segmentFirst)} is damaged: {reason}");
}
