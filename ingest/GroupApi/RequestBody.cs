using System.Buffers;
using System.IO.Compression;
using Microsoft.AspNetCore.Http.Features;
using Platform.ServiceDefaults.Http;

namespace Platform.Ingest.GroupApi;

/// <summary>A request body read whole, usually into a pooled buffer. Dispose returns a pooled buffer.</summary>
internal readonly struct PooledBody : IDisposable
{
    private readonly byte[]? _buffer;
    private readonly int _length;
    private readonly bool _pooled;

    /// <summary>A body in a buffer rented from <see cref="ArrayPool{T}.Shared"/>; Dispose returns it.</summary>
    public PooledBody(byte[]? buffer, int length)
        : this(buffer, length, pooled: true)
    {
    }

    private PooledBody(byte[]? buffer, int length, bool pooled)
    {
        _buffer = buffer;
        _length = length;
        _pooled = pooled;
    }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, _length);

    /// <summary>A body held in an ordinary array (tests, bodies built in memory): nothing goes back to the pool.</summary>
    public static PooledBody FromArray(byte[] bytes) => new(bytes, bytes?.Length ?? 0, pooled: false);

    public void Dispose()
    {
        if (_pooled && _buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
    }
}

/// <summary>
/// Reads the request body under the size cap: the declared Content-Length is checked before reading, a chunked
/// body is cut off one byte past the cap, and a gzip body is decompressed only up to the cap, so a small
/// compressed "bomb" costs at most cap bytes of memory and the CPU to inflate them.
/// </summary>
internal static class RequestBody
{
    private const int InitialBufferBytes = 64 * 1024;

    /// <returns>null and the body, or a message saying why the body is refused.</returns>
    public static async Task<(string? Problem, PooledBody Body)> ReadAsync(HttpContext context, int maxBytes)
    {
        var request = context.Request;
        // The cap is ours to enforce, with the contract's 400; Kestrel's own limit would answer 413.
        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = null;
        }

        if (request.ContentLength > maxBytes)
        {
            return ($"is {request.ContentLength} bytes; the limit is {maxBytes} bytes", default);
        }

        var encoding = request.Headers.ContentEncoding.ToString().Trim();
        var gzip = false;
        if (encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase) || encoding.Equals("x-gzip", StringComparison.OrdinalIgnoreCase))
        {
            gzip = true;
        }
        else if (encoding.Length != 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return ($"uses Content-Encoding '{encoding}'; only gzip is supported", default);
        }

        var source = request.Body;
        if (gzip)
        {
            // The compressed stream is capped too, so an endless compressed upload cannot run forever.
            source = new GZipStream(new CappedStream(source, maxBytes), CompressionMode.Decompress, leaveOpen: true);
        }

        await using (gzip ? source : null)
        {
            var initial = request.ContentLength is { } declared && !gzip ? (int)declared + 1 : InitialBufferBytes;
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(initial, maxBytes + 1));
            var length = 0;
            try
            {
                while (true)
                {
                    if (length == buffer.Length)
                    {
                        if (length > maxBytes)
                        {
                            break;
                        }

                        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxBytes + 1));
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    var read = await source.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, maxBytes + 1) - length), context.RequestAborted);
                    if (read == 0)
                    {
                        break;
                    }

                    length += read;
                    if (length > maxBytes)
                    {
                        break;
                    }
                }
            }
            catch (InvalidDataException)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                return ("is not valid gzip data", default);
            }
            catch (BodyTooLargeException)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                return ($"is over {maxBytes} bytes compressed; the limit is {maxBytes} bytes", default);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }

            if (length > maxBytes)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                return (gzip
                    ? $"decompresses to more than {maxBytes} bytes; the limit is {maxBytes} bytes"
                    : $"is more than {maxBytes} bytes; the limit is {maxBytes} bytes", default);
            }

            return (null, new PooledBody(buffer, length));
        }
    }
}
