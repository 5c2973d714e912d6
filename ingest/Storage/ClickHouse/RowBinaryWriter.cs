using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Platform.Ingest.Storage.ClickHouse;

/// <summary>
/// Rows in ClickHouse's RowBinary format, written straight from the events into one pooled buffer. The driver's row
/// API wants an <c>object[]</c> per row with every number boxed, which cost about 1.8 KB of garbage and a type switch
/// per value for each event; this writes the four types our tables use and nothing else. See README, "written here".
/// </summary>
internal sealed class RowBinaryWriter : IDisposable
{
    private byte[] _buffer;
    private int _length;

    public RowBinaryWriter(int capacity) => _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 4096));

    public int Length => _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    /// <summary>String: the UTF-8 byte count as an unsigned LEB128 varint, then the bytes.</summary>
    public void String(string value)
    {
        var count = Encoding.UTF8.GetByteCount(value);
        var span = Reserve(10 + count);
        var prefix = Varint(span, (uint)count);
        _length += prefix + Encoding.UTF8.GetBytes(value, span[prefix..]);
    }

    /// <summary>String from UTF-8 bytes: their count as an unsigned LEB128 varint, then the bytes.</summary>
    public void Utf8(ReadOnlySpan<byte> value)
    {
        var span = Reserve(10 + value.Length);
        var prefix = Varint(span, (uint)value.Length);
        value.CopyTo(span[prefix..]);
        _length += prefix + value.Length;
    }

    /// <summary>The start of an Array(T): its element count as an unsigned LEB128 varint; the elements follow.</summary>
    public void ArrayLength(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _length += Varint(Reserve(10), (uint)count);
    }

    /// <summary>Nullable(String): one byte, 1 for NULL, else 0 followed by the string.</summary>
    public void NullableString(string? value)
    {
        UInt8(value is null ? (byte)1 : (byte)0);
        if (value is not null)
        {
            String(value);
        }
    }

    public void UInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(Reserve(8), value);
        _length += 8;
    }

    public void UInt8(byte value)
    {
        Reserve(1)[0] = value;
        _length++;
    }

    /// <summary>The rows written so far, as a read-only stream over the buffer (no copy); valid until disposed.</summary>
    public MemoryStream AsStream() => new(_buffer, 0, _length, writable: false);

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private static int Varint(Span<byte> span, uint value)
    {
        var written = 0;
        while (value >= 0x80)
        {
            span[written++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[written++] = (byte)value;
        return written;
    }

    private Span<byte> Reserve(int bytes)
    {
        if (_buffer.Length - _length < bytes)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + bytes));
            _buffer.AsSpan(0, _length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        return _buffer.AsSpan(_length);
    }
}
