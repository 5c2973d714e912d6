using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Platform.ServiceDefaults.Auth;
using Platform.Tests.Integration;

namespace Platform.Tests.Query;

/// <summary>
/// The query API reads ids from the route it matched, not from fixed positions in the request target: an absolute-form
/// target or a PathBase in front of the routes reads the same group, and ids holding '/', '%' or '?' round-trip.
/// </summary>
public sealed class QueryRoutingTests
{
    private const string TrickyId = "acme inc/eu?x=1&y=%";

    [Fact]
    public async Task An_absolute_form_request_target_reads_the_group()
    {
        using var host = new IngestHost();
        await IngestAsync(host, TrickyId);

        var (status, body) = await RawGetAsync(host, $"http://{host.Client.BaseAddress!.Authority}/api/groups/{Uri.EscapeDataString(TrickyId)}");
        var (historyStatus, history) = await RawGetAsync(host,
            $"http://{host.Client.BaseAddress!.Authority}/api/groups/{Uri.EscapeDataString(TrickyId)}/traits/planName/history");

        Assert.True(status == 200, $"{status}: {body}");
        Assert.Equal(TrickyId, JsonNode.Parse(body)!["group_id"]!.GetValue<string>());
        Assert.Equal(200, historyStatus);
        Assert.Equal("Basic", JsonNode.Parse(history)!["items"]![0]!["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_path_base_in_front_of_the_routes_changes_nothing()
    {
        using var host = new IngestHost(configureServices: services => services.AddSingleton<IStartupFilter>(new PathBaseFilter("/platform")));
        await IngestAsync(host, TrickyId, "/platform/api/group");

        var profile = await GetAsync(host, "/platform/api/groups/" + Uri.EscapeDataString(TrickyId));
        var users = await GetAsync(host, "/platform/api/groups/" + Uri.EscapeDataString(TrickyId) + "/users");
        var groups = await GetAsync(host, "/platform/api/users/user%2F1/groups");
        var counts = await GetAsync(host, "/platform/api/traits/plan%25Name/counts");

        Assert.Equal(TrickyId, profile["group_id"]!.GetValue<string>());
        Assert.Equal("user/1", users["items"]![0]!["user_id"]!.GetValue<string>());
        Assert.Equal(TrickyId, groups["items"]![0]!["group_id"]!.GetValue<string>());
        Assert.Equal("plan%Name", counts["trait"]!.GetValue<string>());
        Assert.Equal("x", counts["buckets"]![0]!["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_encoded_slash_and_a_literal_percent_2F_are_different_ids()
    {
        using var host = new IngestHost();
        await IngestAsync(host, "a/b");
        await IngestAsync(host, "a%2Fb");

        var slash = await GetAsync(host, "/api/groups/a%2Fb");
        var literal = await GetAsync(host, "/api/groups/a%252Fb");

        Assert.Equal("a/b", slash["group_id"]!.GetValue<string>());
        Assert.Equal("a%2Fb", literal["group_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_dot_segment_after_an_ambiguous_id_is_a_400_naming_it_not_a_guess()
    {
        using var host = new IngestHost();
        await IngestAsync(host, "a/b");

        var (status, body) = await RawGetAsync(host, "/api/groups/a%2Fb/users/..");

        Assert.Equal(400, status);
        Assert.Equal("groupId", JsonNode.Parse(body)!["errors"]![0]!["field"]!.GetValue<string>());
    }

    private static async Task IngestAsync(IngestHost host, string groupId, string path = "/api/group")
    {
        var json = "[{\"group_id\":" + JsonSerializer.Serialize(groupId)
            + ",\"user_id\":\"user/1\",\"timestamp\":\"2024-01-01T10:00:00Z\",\"traits\":{\"group_type\":\"Account\",\"planName\":\"Basic\",\"plan%Name\":\"x\"}}]";
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", host.Token());
        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<JsonNode> GetAsync(IngestHost host, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new("Bearer", host.Token("acme", PlatformScopes.AnalyticsRead));
        using var response = await host.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    /// <summary>A GET with exactly this request target, written on a socket (HttpClient sends only origin-form and normalizes dots).</summary>
    private static async Task<(int Status, string Body)> RawGetAsync(IngestHost host, string target)
    {
        var address = host.Client.BaseAddress!;
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, address.Port);
        var stream = client.GetStream();
        var request = $"GET {target} HTTP/1.1\r\nHost: {address.Authority}\r\n"
            + $"Authorization: Bearer {host.Token("acme", PlatformScopes.AnalyticsRead)}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var answer = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var status = int.Parse(answer.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
        var headerEnd = answer.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = answer[..headerEnd];
        var body = answer[(headerEnd + 4)..];
        if (head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Unchunk(body);
        }

        return (status, body);
    }

    private static string Unchunk(string chunked)
    {
        var result = new StringBuilder();
        var position = 0;
        while (true)
        {
            var lineEnd = chunked.IndexOf("\r\n", position, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[position..lineEnd], 16);
            if (size == 0)
            {
                return result.ToString();
            }

            // Sizes count bytes; the bodies here are ASCII JSON apart from escapes, so characters and bytes agree.
            result.Append(chunked, lineEnd + 2, size);
            position = lineEnd + 2 + size + 2;
        }
    }

    /// <summary>Puts the whole application under a PathBase, as a reverse proxy or ingress with a path prefix would.</summary>
    private sealed class PathBaseFilter(string pathBase) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.UsePathBase(pathBase);
            next(app);
        };
    }
}
