using System.Buffers;

namespace Platform.Ingest.Log;

/// <summary>
/// A pooled buffer that one record is encoded into, with room for the frame header in front, so the writer loop
/// only fills in the header and hands the bytes to the file: no copy between encoding and writing.
/// </summary>
internal sealed class FrameBuffer : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _length = LogFormat.FrameHeaderSize;

    public FrameBuffer(int capacity) => _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 4096));

    /// <summary>Header and payload.</summary>
    public int FrameLength => _length;

    public int PayloadLength => _length - LogFormat.FrameHeaderSize;

    public Memory<byte> Frame => _buffer.AsMemory(0, _length);

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > _buffer.Length - _length)
        {
            throw new InvalidOperationException("advanced past the end of the buffer");
        }

        _length += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_length);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_length);
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Reserve(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - _length >= needed)
        {
            return;
        }

        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max((long)_buffer.Length * 2, (long)_length + needed)));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
