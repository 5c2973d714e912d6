using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Platform.Ingest.Log;

/// <summary>
/// The bytes on disk. A segment file <c>{firstOffset:D20}.seg</c> starts with a 16-byte header (magic, version, the
/// offset of its first record) followed by whole records. A record (frame) is a 32-byte header and the payload:
/// <code>
/// magic:u32 | crc32c:u32 of bytes 8..end | payloadLength:i32 | reserved:u32 = 0 | commit:u64 | appendedAtMicros:i64 | payload
/// </code>
/// The magic lets recovery tell a torn tail (nothing valid after the damage) from damage in the middle (valid records
/// follow); the commit number (one per group commit) tells which records one fsync covered.
/// </summary>
internal static class LogFormat
{
    public const int SegmentHeaderSize = 16;
    public const int FrameHeaderSize = 32;
    public const uint FrameMagic = 0x474F4CF7; // F7 'L' 'O' 'G' on disk: F7 never occurs in UTF-8 text.
    public const uint SegmentMagic = 0x4745534C; // "LSEG"
    public const uint SegmentVersion = 1;
    public const string SegmentExtension = ".seg";

    /// <summary>The largest payload the log accepts (the parser's limits keep a request far below it).</summary>
    public const int MaxPayloadBytes = 256 * 1024 * 1024;

    public static string SegmentFileName(long firstOffset) =>
        firstOffset.ToString("D20", CultureInfo.InvariantCulture) + SegmentExtension;

    public static bool TryParseSegmentFileName(string fileName, out long firstOffset)
    {
        firstOffset = 0;
        return fileName.Length == 20 + SegmentExtension.Length
            && fileName.EndsWith(SegmentExtension, StringComparison.Ordinal)
            && long.TryParse(fileName.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out firstOffset);
    }

    public static void WriteSegmentHeader(Span<byte> header, long firstOffset)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, SegmentMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], SegmentVersion);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], firstOffset);
    }

    public static bool IsSegmentHeader(ReadOnlySpan<byte> header, long firstOffset) =>
        header.Length >= SegmentHeaderSize
        && BinaryPrimitives.ReadUInt32LittleEndian(header) == SegmentMagic
        && BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) == SegmentVersion
        && BinaryPrimitives.ReadInt64LittleEndian(header[8..]) == firstOffset;

    /// <summary>Fills the header in front of a payload already in <paramref name="frame"/>[32..].</summary>
    public static void SealFrame(Span<byte> frame, ulong commit, long appendedAtMicros)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(frame, FrameMagic);
        BinaryPrimitives.WriteInt32LittleEndian(frame[8..], frame.Length - FrameHeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[12..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(frame[16..], commit);
        BinaryPrimitives.WriteInt64LittleEndian(frame[24..], appendedAtMicros);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[4..], Crc32C(frame[8..]));
    }

    /// <summary>
    /// Reads a frame header. False when the bytes cannot start a frame (wrong magic, impossible length); the checksum is
    /// checked separately, once the payload is read.
    /// </summary>
    public static bool TryReadFrameHeader(ReadOnlySpan<byte> header, out FrameHeader frame)
    {
        frame = default;
        if (header.Length < FrameHeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(header) != FrameMagic)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        if (length < 0 || length > MaxPayloadBytes || BinaryPrimitives.ReadUInt32LittleEndian(header[12..]) != 0)
        {
            return false;
        }

        frame = new FrameHeader(
            BinaryPrimitives.ReadUInt32LittleEndian(header[4..]),
            length,
            BinaryPrimitives.ReadUInt64LittleEndian(header[16..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[24..]));
        return true;
    }

    /// <summary>Whether the whole frame (header and payload) carries the checksum its header names.</summary>
    public static bool HasValidChecksum(ReadOnlySpan<byte> frame) =>
        frame.Length >= FrameHeaderSize && BinaryPrimitives.ReadUInt32LittleEndian(frame[4..]) == Crc32C(frame[8..]);

    /// <summary>CRC-32C (Castagnoli), with the processor's CRC instruction where there is one (SSE4.2, ARMv8).</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = uint.MaxValue;
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (var word in words)
        {
            crc = BitOperations.Crc32C(crc, BitConverter.IsLittleEndian ? word : BinaryPrimitives.ReverseEndianness(word));
        }

        foreach (var b in data[(words.Length * 8)..])
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }
}

internal readonly record struct FrameHeader(uint Checksum, int PayloadLength, ulong Commit, long AppendedAtMicros)
{
    public int FrameLength => LogFormat.FrameHeaderSize + PayloadLength;
}
