using System.IO.Compression;
using System.Text;
using Microsoft.AspNetCore.Http;
using Platform.Ingest.GroupApi;

namespace Platform.Tests.GroupApi;

public sealed class RequestBodyTests
{
    private const int Cap = 2 * 1024 * 1024;

    private static DefaultHttpContext Request(byte[] body, bool declareLength, string? encoding = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Body = new MemoryStream(body);
        if (declareLength)
        {
            context.Request.ContentLength = body.Length;
        }

        if (encoding is not null)
        {
            context.Request.Headers.ContentEncoding = encoding;
        }

        return context;
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_of_exactly_2_MB_is_read(bool declareLength)
    {
        var (problem, body) = await RequestBody.ReadAsync(Request(new byte[Cap], declareLength), Cap);
        using (body)
        {
            Assert.Null(problem);
            Assert.Equal(Cap, body.Span.Length);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_one_byte_over_2_MB_is_refused(bool declareLength)
    {
        var (problem, _) = await RequestBody.ReadAsync(Request(new byte[Cap + 1], declareLength), Cap);

        Assert.NotNull(problem);
        Assert.Contains("2097152", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gzip_body_is_decompressed()
    {
        var json = Encoding.UTF8.GetBytes("[{\"group_id\":\"g\"}]");

        var (problem, body) = await RequestBody.ReadAsync(Request(Gzip(json), true, "gzip"), Cap);
        using (body)
        {
            Assert.Null(problem);
            Assert.Equal(json, body.Span.ToArray());
        }
    }

    [Fact]
    public async Task The_cap_applies_to_the_decompressed_size()
    {
        var (fits, body) = await RequestBody.ReadAsync(Request(Gzip(new byte[Cap]), true, "gzip"), Cap);
        body.Dispose();
        var (over, _) = await RequestBody.ReadAsync(Request(Gzip(new byte[Cap + 1]), true, "gzip"), Cap);

        Assert.Null(fits);
        Assert.Contains("decompresses to more than", over, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_decompression_bomb_is_refused_without_inflating_it()
    {
        // 1 GiB of zeros compresses to about 1 MB; reading stops one byte past the cap.
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var zeros = new byte[1024 * 1024];
            for (var i = 0; i < 1024; i++)
            {
                gzip.Write(zeros);
            }
        }

        var context = Request(compressed.ToArray(), true, "gzip");
        var (problem, _) = await RequestBody.ReadAsync(context, Cap);

        Assert.Contains("decompresses to more than", problem, StringComparison.Ordinal);
        Assert.True(context.Request.Body.Position < context.Request.Body.Length, "the compressed stream was read to its end");
    }

    [Fact]
    public async Task Corrupt_gzip_is_refused()
    {
        var (problem, _) = await RequestBody.ReadAsync(Request(Encoding.UTF8.GetBytes("not gzip at all"), true, "gzip"), Cap);

        Assert.Equal("is not valid gzip data", problem);
    }

    [Theory]
    [InlineData("br")]
    [InlineData("deflate")]
    [InlineData("gzip, gzip")]
    public async Task Other_content_encodings_are_refused(string encoding)
    {
        var (problem, _) = await RequestBody.ReadAsync(Request([1, 2, 3], true, encoding), Cap);

        Assert.Contains("only gzip is supported", problem, StringComparison.Ordinal);
    }
}
