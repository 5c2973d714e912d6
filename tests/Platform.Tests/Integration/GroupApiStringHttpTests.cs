using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Platform.ServiceDefaults.Auth;

namespace Platform.Tests.Integration;

/// <summary>
/// Strings in the body over real HTTP: text that is not valid UTF-8 or holds a lone surrogate is a 400 naming the
/// field, never a 500 and never stored altered; valid non-ASCII text is stored as sent and read back unchanged.
/// </summary>
public sealed class GroupApiStringHttpTests
{
    /// <summary>In the JSON text of these cases, '¤' stands for the raw byte 0xFF (never valid in UTF-8).</summary>
    [Theory]
    [InlineData("""{"group_id":"g\ud800","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"}}""", "group_id")]
    [InlineData("""{"group_id":"g","user_id":"u\u0000","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"}}""", "user_id")]
    [InlineData("""{"group_id":"g¤","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"}}""", "group_id")]
    [InlineData("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team","n¤":"x"}}""", "traits")]
    [InlineData("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team","industry":"v¤X"}}""", "traits.industry")]
    [InlineData("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"},"context":{"ip":"v¤X"}}""", "context.ip")]
    [InlineData("""{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"},"context":{"lib":{"v":["a","\udc00"]}}}""", "context.lib.v[1]")]
    public async Task A_string_that_is_not_valid_text_is_answered_400_naming_the_field_and_stores_nothing(string json, string field)
    {
        using var host = new IngestHost();

        using var response = await PostBytesAsync(host, WithRawFF(json));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = Assert.Single((await ContractBody.ReadAsync(response)).Errors!);
        Assert.Equal((0, field), (error.Index ?? -1, error.Field));
        Assert.Equal(0, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task Non_ascii_text_is_stored_unchanged_and_read_back_through_the_query_api()
    {
        using var host = new IngestHost();
        const string groupId = "grp-😀-漢字";
        // The emoji once as raw UTF-8, once as a surrogate-pair escape; CJK raw and escaped.
        var json = """
            [{"group_id":"grp-😀-漢字","user_id":"ü-1","timestamp":"2023-12-14T16:07:33Z",
              "traits":{"group_type":"Team","name":"\ud83d\ude00 \u6f22\u5b57 Café","名前":{"k":["😀","\ud83d\udc4d"]}},
              "context":{"lib":"ラ"}}]
            """;

        using var posted = await PostBytesAsync(host, Encoding.UTF8.GetBytes(json));
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/groups/" + Uri.EscapeDataString(groupId));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.Token("acme", PlatformScopes.AnalyticsRead));
        using var read = await host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        using var document = JsonDocument.Parse(await read.Content.ReadAsByteArrayAsync());
        var root = document.RootElement;
        Assert.Equal(groupId, root.GetProperty("group_id").GetString());
        var traits = root.GetProperty("traits");
        Assert.Equal("😀 漢字 Café", traits.GetProperty("name").GetString());
        var nested = traits.GetProperty("名前").GetProperty("k");
        Assert.Equal(["😀", "👍"], nested.EnumerateArray().Select(e => e.GetString()!).ToArray());
    }

    private static async Task<HttpResponseMessage> PostBytesAsync(IngestHost host, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/group") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.Token());
        return await host.Client.SendAsync(request);
    }

    /// <summary>The JSON as UTF-8, with every '¤' replaced by the raw byte 0xFF.</summary>
    private static byte[] WithRawFF(string json)
    {
        var bytes = new List<byte>();
        foreach (var part in json.Split('¤'))
        {
            bytes.AddRange(Encoding.UTF8.GetBytes(part));
            bytes.Add(0xFF);
        }

        bytes.RemoveAt(bytes.Count - 1);
        return [.. bytes];
    }
}
