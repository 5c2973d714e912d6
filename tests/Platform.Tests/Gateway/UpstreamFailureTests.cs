using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Platform.Tests.Servers;

namespace Platform.Tests.Gateway;

/// <summary>
/// Every fault on ingest's side reaches the client as the contract's 503: Retry-After, the JSON body with the
/// gateway's response id, never YARP's bare 502/504. Each through the real gateway against a real socket.
/// </summary>
public sealed class UpstreamFailureTests : IDisposable
{
    private readonly string _keys = Directory.CreateTempSubdirectory("platform-gateway-keys-").FullName;
    private readonly GatewayTokens _tokens;

    public UpstreamFailureTests()
    {
        Platform.ServiceDefaults.Auth.DevelopmentKeys.EnsureKeyPair(_keys);
        _tokens = new GatewayTokens(_keys);
    }

    public void Dispose() => Directory.Delete(_keys, recursive: true);

    private GatewayHost Gateway(Uri upstream, IDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Proxy:ActiveHealthChecks"] = "false",
            ["Proxy:PassiveHealthChecks"] = "false",
            ["Proxy:UnavailableRetryAfter"] = "00:00:03",
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return new GatewayHost(upstream, _tokens.PublicKeyFile, settings);
    }

    private async Task<HttpResponseMessage> PostAsync(GatewayHost gateway)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/group")
        {
            Content = new StringContent("""[{"group_id":"g","user_id":"u","traits":{"group_type":"Account"}}]""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _tokens.Valid());
        return await gateway.Client.SendAsync(request);
    }

    private static async Task AssertContract503Async(HttpResponseMessage response, string reason)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode}: {text}");
        Assert.True(response.Headers.RetryAfter?.Delta == TimeSpan.FromSeconds(3), $"Retry-After {response.Headers.RetryAfter}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.False(body.GetProperty("success").GetBoolean());
        Assert.Equal(response.Headers.GetValues("X-Response-Id").Single(), body.GetProperty("response_id").GetString());
        Assert.Contains(reason, body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ingest_not_listening_is_a_contract_503()
    {
        using var gateway = Gateway(new Uri($"http://127.0.0.1:{FreePorts.One()}"));

        using var response = await PostAsync(gateway);

        await AssertContract503Async(response, "could not be reached");
    }

    [Fact]
    public async Task Ingest_dropping_the_connection_mid_request_is_a_contract_503()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        // Reads the start of the request, then resets the connection, as a process killed mid-request does.
        var dropper = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            await socket.ReceiveAsync(new byte[1024], SocketFlags.None);
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        });
        using var gateway = Gateway(new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}"));

        using var response = await PostAsync(gateway);

        await AssertContract503Async(response, "could not be reached or closed the connection");
        await dropper;
    }

    [Fact]
    public async Task Ingest_answering_too_slowly_is_a_contract_503()
    {
        await using var slow = await Upstream.StartAsync(static async context =>
        {
            await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted);
        });
        using var gateway = Gateway(slow.Address, new Dictionary<string, string?> { ["Proxy:RequestTimeout"] = "00:00:01" });

        using var response = await PostAsync(gateway);

        await AssertContract503Async(response, "did not answer in time");
    }

    /// <summary>A stand-in for ingest that answers every request (health probes included) with <paramref name="handler"/>.</summary>
    private sealed class Upstream : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private Upstream(WebApplication app) => _app = app;

        public Uri Address => new(_app.Urls.First());

        public static async Task<Upstream> StartAsync(RequestDelegate handler)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            app.Run(handler);
            await app.StartAsync();
            return new Upstream(app);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
