using System.Buffers;
using System.IO.Compression;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Platform.ServiceDefaults.Http;

namespace Platform.ServiceDefaults.Auth.WriteKeys;

/// <summary>
/// Finds a write key sent as the body's top-level <c>writeKey</c> (some SDKs send no Authorization header). The body
/// is buffered so whoever runs next (ingest's endpoint, the gateway's proxy) reads it again from the start. Only
/// asked for when a request came without an Authorization header, which the usual SDKs never do, so the common path
/// never pays for it.
/// </summary>
internal static class BodyWriteKey
{
    public static async Task<string?> ReadAsync(HttpContext context, int maxBytes)
    {
        var request = context.Request;
        if (maxBytes <= 0 || request.ContentLength is 0 || request.ContentLength > maxBytes || !HttpMethods.IsPost(request.Method))
        {
            return null;
        }

        request.EnableBuffering(bufferThreshold: 64 * 1024, bufferLimit: maxBytes + 1L);
        var gzip = request.Headers.ContentEncoding.ToString().Trim() is var encoding
            && (encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase) || encoding.Equals("x-gzip", StringComparison.OrdinalIgnoreCase));
        var buffer = ArrayPool<byte>.Shared.Rent(maxBytes + 1);
        try
        {
            var length = 0;
            Stream source = gzip
                ? new GZipStream(new CappedStream(request.Body, maxBytes), CompressionMode.Decompress, leaveOpen: true)
                : request.Body;
            try
            {
                int read;
                while (length <= maxBytes && (read = await source.ReadAsync(buffer.AsMemory(length, maxBytes + 1 - length), context.RequestAborted)) > 0)
                {
                    length += read;
                }
            }
            catch (Exception ex) when (ex is InvalidDataException or BodyTooLargeException or IOException)
            {
                return null;
            }
            finally
            {
                if (gzip)
                {
                    await source.DisposeAsync();
                }
            }

            return length > maxBytes ? null : Find(buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (request.Body.CanSeek)
            {
                request.Body.Position = 0;
            }
        }
    }

    /// <summary>The top-level <c>writeKey</c> string of a JSON object, or null.</summary>
    internal static string? Find(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isKey = reader.ValueTextEquals("writeKey"u8);
                reader.Read();
                if (isKey && reader.TokenType == JsonTokenType.String)
                {
                    return reader.GetString();
                }

                reader.Skip();
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Not JSON, or not valid text: no key here. The endpoint refuses the body on its own terms.
        }

        return null;
    }
}
