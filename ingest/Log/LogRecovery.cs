using Microsoft.Win32.SafeHandles;

namespace Platform.Ingest.Log;

/// <summary>
/// Opening the log after a stop or a crash: read the checkpoint, delete segments wholly before it (their deletion was
/// due), check every record after it, and cut a torn tail off the last segment. A torn tail is what a crash during a
/// group commit leaves: the records of that commit were never acknowledged. Damage that cannot be such a tail (in an
/// older segment, or followed by intact records of other commits) may hold acknowledged events, so it stops the open.
/// </summary>
internal static partial class LogRecovery
{
    private const int ScanChunk = 1 << 20;

    internal sealed record Result(
        List<long> Segments, SafeFileHandle Active, LogPosition Shipped, LogPosition End, long OldestAppendedAtMicros, ulong LastCommit);

    public static Result Recover(string directory, ILogger logger)
    {
        System.IO.Directory.CreateDirectory(directory);
        LogCheckpoint.DeleteTemporary(directory);
        var checkpoint = LogCheckpoint.Read(directory);
        var segments = ListSegments(directory);
        LogPosition shipped;
        if (checkpoint is { } known)
        {
            shipped = known;
        }
        else if (segments.Count == 0 || segments[0] == 0)
        {
            shipped = LogPosition.Start;
        }
        else
        {
            throw new LogCorruptException(
                $"the log in '{directory}' has no checkpoint but its first segment starts at offset {segments[0]}, not 0: " +
                "the checkpoint was lost, so it is unknown what was shipped.");
        }

        // Segments wholly before the checkpoint were shipped; their deletion may not have happened before the stop.
        while (segments.Count > 1 && segments[1] <= shipped.Offset)
        {
            File.Delete(SegmentPath(directory, segments[0]));
            segments.RemoveAt(0);
        }

        if (segments.Count > 0 && segments[0] > shipped.Offset)
        {
            throw new LogCorruptException(
                $"the log in '{directory}' is missing the segment holding the checkpoint {shipped}: the first segment starts at {segments[0]}.");
        }

        var position = shipped;
        Span<byte> header = stackalloc byte[LogFormat.SegmentHeaderSize];
        var oldest = 0L;
        ulong lastCommit = 0;
        for (var i = 0; i < segments.Count; i++)
        {
            var first = segments[i];
            var last = i == segments.Count - 1;
            if (first != position.Offset && i > 0)
            {
                throw new LogCorruptException(
                    $"the log in '{directory}' has a gap: segment {LogFormat.SegmentFileName(first)} should start at {position.Offset}.");
            }

            var path = SegmentPath(directory, first);
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
            var length = RandomAccess.GetLength(handle);
            if (length < LogFormat.SegmentHeaderSize || RandomAccess.Read(handle, header, 0) < header.Length || !LogFormat.IsSegmentHeader(header, first))
            {
                if (last && first == position.Offset && length <= LogFormat.SegmentHeaderSize)
                {
                    // A crash while the segment was being created, before any record went into it.
                    handle.Dispose();
                    File.Delete(path);
                    segments.RemoveAt(i);
                    LogHalfCreatedSegmentRemoved(logger, path);
                    break;
                }

                throw new LogCorruptException($"segment '{path}' has no valid header ({length} bytes).");
            }

            var fileOffset = LogFormat.SegmentHeaderSize + (i == 0 ? position.Offset - first : 0);
            ulong previousCommit = 0;
            while (fileOffset < length)
            {
                var frame = TryReadValidFrame(handle, fileOffset, length);
                if (frame is null)
                {
                    if (!last)
                    {
                        throw new LogCorruptException(
                            $"segment '{path}' is damaged at file offset {fileOffset} (log position {position}); it is not the last segment, " +
                            "so the records there were acknowledged. The log refuses to start rather than lose them.");
                    }

                    CutTornTail(handle, path, fileOffset, length, previousCommit, position, logger);
                    length = fileOffset;
                    break;
                }

                var value = frame.Value;
                if (position.Sequence == shipped.Sequence)
                {
                    oldest = value.AppendedAtMicros;
                }

                previousCommit = value.Commit;
                lastCommit = Math.Max(lastCommit, value.Commit);
                position = new LogPosition(position.Offset + value.FrameLength, position.Sequence + 1);
                fileOffset += value.FrameLength;
            }
        }

        if (segments.Count == 0)
        {
            segments.Add(position.Offset);
            CreateSegment(directory, position.Offset).Dispose();
        }

        var active = File.OpenHandle(SegmentPath(directory, segments[^1]), FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        return new Result(segments, active, shipped, position, oldest, lastCommit);
    }

    public static SafeFileHandle CreateSegment(string directory, long first)
    {
        var handle = File.OpenHandle(SegmentPath(directory, first), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        Span<byte> header = stackalloc byte[LogFormat.SegmentHeaderSize];
        LogFormat.WriteSegmentHeader(header, first);
        RandomAccess.Write(handle, header, 0);
        RandomAccess.FlushToDisk(handle);
        LogCheckpoint.FlushDirectory(directory);
        return handle;
    }

    private static string SegmentPath(string directory, long first) => Path.Combine(directory, LogFormat.SegmentFileName(first));

    private static List<long> ListSegments(string directory)
    {
        var segments = new List<long>();
        foreach (var path in System.IO.Directory.EnumerateFiles(directory, "*" + LogFormat.SegmentExtension))
        {
            var name = Path.GetFileName(path);
            if (!LogFormat.TryParseSegmentFileName(name, out var first))
            {
                throw new LogCorruptException($"'{path}' looks like a log segment but its name is not a 20-digit offset.");
            }

            segments.Add(first);
        }

        segments.Sort();
        return segments;
    }

    /// <summary>The frame at <paramref name="fileOffset"/> if it is whole and its checksum holds; null otherwise.</summary>
    private static FrameHeader? TryReadValidFrame(SafeFileHandle handle, long fileOffset, long length)
    {
        Span<byte> header = stackalloc byte[LogFormat.FrameHeaderSize];
        if (length - fileOffset < LogFormat.FrameHeaderSize
            || RandomAccess.Read(handle, header, fileOffset) < header.Length
            || !LogFormat.TryReadFrameHeader(header, out var frame)
            || frame.FrameLength > length - fileOffset)
        {
            return null;
        }

        var bytes = System.Buffers.ArrayPool<byte>.Shared.Rent(frame.FrameLength);
        try
        {
            var span = bytes.AsSpan(0, frame.FrameLength);
            return RandomAccess.Read(handle, span, fileOffset) == span.Length && LogFormat.HasValidChecksum(span) ? frame : null;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>
    /// The last segment is damaged at <paramref name="fileOffset"/>. If intact records follow, they must all come from
    /// one commit no older than the record before the damage (pages of one torn write reach the disk in any order);
    /// anything else is damage to acknowledged records and stops the open. Otherwise the tail is cut off and fsynced.
    /// </summary>
    private static void CutTornTail(SafeFileHandle handle, string path, long fileOffset, long length, ulong previousCommit, LogPosition position, ILogger logger)
    {
        ulong? laterCommit = null;
        var buffer = new byte[ScanChunk + 4];
        for (var chunkStart = fileOffset + 1; chunkStart < length; chunkStart += ScanChunk)
        {
            var read = RandomAccess.Read(handle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, length - chunkStart)), chunkStart);
            for (var at = 0; at + 4 <= read && at < ScanChunk; at++)
            {
                if (System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at)) != LogFormat.FrameMagic)
                {
                    continue;
                }

                if (TryReadValidFrame(handle, chunkStart + at, length) is { } later)
                {
                    if (later.Commit < previousCommit || (laterCommit is { } seen && seen != later.Commit))
                    {
                        throw new LogCorruptException(
                            $"segment '{path}' is damaged at file offset {fileOffset} (log position {position}) but intact records " +
                            $"of other commits follow at file offset {chunkStart + at}: acknowledged records are damaged. " +
                            "The log refuses to start rather than lose them.");
                    }

                    laterCommit = later.Commit;
                }
            }
        }

        RandomAccess.SetLength(handle, fileOffset);
        RandomAccess.FlushToDisk(handle);
        LogTornTailCut(logger, path, length - fileOffset, position);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Write-ahead log: cut a torn tail of {Bytes} bytes off {Segment} at {Position} (a crash during an append that was never acknowledged)")]
    private static partial void LogTornTailCut(ILogger logger, string segment, long bytes, LogPosition position);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Write-ahead log: removed {Segment}, created but never written before a crash")]
    private static partial void LogHalfCreatedSegmentRemoved(ILogger logger, string segment);
}
