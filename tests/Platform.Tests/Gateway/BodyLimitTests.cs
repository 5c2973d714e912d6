using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Platform.Tests.Auth;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Gateway;

/// <summary>The 2 MB cap at its boundary, for declared lengths and for chunked bodies, with a real ingest behind.</summary>
public sealed class BodyLimitTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private const int Cap = 2 * 1024 * 1024;

    /// <summary>A valid one-event batch padded with JSON whitespace to exactly <paramref name="size"/> bytes.</summary>
    private static byte[] BatchOfSize(int size, string userId)
    {
        var json = $"[{Event(userId: userId)}";
        var body = new byte[size];
        var head = Encoding.UTF8.GetBytes(json);
        head.CopyTo(body, 0);
        body.AsSpan(head.Length, size - head.Length - 1).Fill((byte)' ');
        body[^1] = (byte)']';
        return body;
    }

    private async Task<HttpResponseMessage> PostAsync(HttpContent content, string tenant)
    {
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/group") { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Tokens.Valid(tenant));
        return await fixture.Gateway.Client.SendAsync(request);
    }

    private async Task<long> StoredAsync(string tenant) => (await fixture.Ingest.Store.CountAsync(tenant, default)).Events;

    [Fact]
    public async Task Exactly_2_MB_with_content_length_passes_the_gateway_and_is_stored()
    {
        using var response = await PostAsync(new ByteArrayContent(BatchOfSize(Cap, "u-exact")), "cl-exact");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, await StoredAsync("cl-exact"));
    }

    [Fact]
    public async Task One_byte_over_with_content_length_is_400_from_the_gateway_and_nothing_is_forwarded()
    {
        using var response = await PostAsync(new ByteArrayContent(BatchOfSize(Cap + 1, "u-over")), "cl-over");

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("Content-Length of 2097153 bytes exceeds the limit of 2097152 bytes", message, StringComparison.Ordinal);
        Assert.Equal(0, await StoredAsync("cl-over"));
    }

    [Fact]
    public async Task Exactly_2_MB_chunked_passes_the_gateway_and_is_stored()
    {
        using var response = await PostAsync(new ChunkedContent(BatchOfSize(Cap, "u-chunked")), "chunked-exact");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, await StoredAsync("chunked-exact"));
    }

    [Fact]
    public async Task One_byte_over_chunked_is_cut_off_with_a_400_from_the_gateway_and_nothing_is_stored()
    {
        using var response = await PostAsync(new ChunkedContent(BatchOfSize(Cap + 1, "u-chunked-over")), "chunked-over");

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("the request body exceeds the limit of 2097152 bytes", message, StringComparison.Ordinal);
        Assert.Equal(0, await StoredAsync("chunked-over"));
    }

    [Fact]
    public async Task A_much_larger_declared_body_is_refused_before_it_is_read()
    {
        using var response = await PostAsync(new ByteArrayContent(BatchOfSize(Cap * 4, "u-huge")), "cl-huge");

        await ContractAssert.ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(0, await StoredAsync("cl-huge"));
    }

    /// <summary>Sent with Transfer-Encoding: chunked, in 64 KB chunks, because its length is not known up front.</summary>
    private sealed class ChunkedContent(byte[] body) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var offset = 0; offset < body.Length; offset += 64 * 1024)
            {
                await stream.WriteAsync(body.AsMemory(offset, Math.Min(64 * 1024, body.Length - offset)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
