namespace Platform.ServiceDefaults.Http;

/// <summary>Thrown by <see cref="CappedStream"/> when a body runs past the cap.</summary>
public sealed class BodyTooLargeException(long max) : IOException($"request body exceeds {max} bytes");

/// <summary>
/// A read-only view of a request body that fails as soon as more than <c>max</c> bytes have been read: the gateway
/// cuts chunked bodies off with it, ingest caps the compressed side of a gzip body.
/// </summary>
public sealed class CappedStream(Stream inner, long max) : Stream
{
    private long _read;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private int Count(int read)
    {
        _read += read;
        if (_read > max)
        {
            throw new BodyTooLargeException(max);
        }

        return read;
    }
}
