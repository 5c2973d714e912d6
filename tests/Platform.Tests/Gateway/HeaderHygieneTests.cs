using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Platform.Tests.Integration;

namespace Platform.Tests.Gateway;

/// <summary>What the gateway forwards, seen by an echoing upstream in ingest's place.</summary>
public sealed class HeaderHygieneTests : IAsyncLifetime, IDisposable
{
    private readonly string _keys = Directory.CreateTempSubdirectory("platform-gateway-keys-").FullName;
    private EchoUpstream _echo = null!;
    private GatewayHost _gateway = null!;
    private GatewayTokens _tokens = null!;

    public async Task InitializeAsync()
    {
        Platform.ServiceDefaults.Auth.DevelopmentKeys.EnsureKeyPair(_keys);
        _tokens = new GatewayTokens(_keys);
        _echo = await EchoUpstream.StartAsync();
        _gateway = new GatewayHost(_echo.Address, _tokens.PublicKeyFile);
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _echo.DisposeAsync();
        Directory.Delete(_keys, recursive: true);
    }

    // DisposeAsync has already stopped it; this only satisfies the analyzer's ownership rule.
    public void Dispose() => _gateway.Dispose();

    private async Task<(HttpResponseMessage Response, Echo Echo)> SendAsync(Action<HttpRequestMessage> adjust)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/group") { Content = new StringContent("[]", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _tokens.Valid());
        adjust(request);
        var response = await _gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (response, await Echo.ReadAsync(response));
    }

    [Fact]
    public async Task Client_supplied_internal_headers_are_not_forwarded()
    {
        var (response, echo) = await SendAsync(request =>
        {
            request.Headers.Add("X-Tenant-Id", "victim");
            request.Headers.Add("X-Platform-Tenant", "victim");
            request.Headers.Add("X-Platform-Scopes", "admin");
            request.Headers.Add("X-Forwarded-Host", "evil.example");
            request.Headers.Add("X-Forwarded-Proto", "https");
            request.Headers.Add("X-Forwarded-Prefix", "/admin");
            request.Headers.Add("Forwarded", "for=6.6.6.6");
            request.Headers.Add("X-Real-IP", "6.6.6.6");
            request.Headers.Add("X-Original-URL", "/admin");
            request.Headers.Add("X-HTTP-Method-Override", "DELETE");
            request.Headers.Add("X-Remote-User", "root");
        });
        using (response)
        {
            foreach (var name in new[] { "x-tenant-id", "x-platform-tenant", "x-platform-scopes", "x-forwarded-prefix", "forwarded", "x-real-ip", "x-original-url", "x-http-method-override", "x-remote-user" })
            {
                Assert.False(echo.Headers.ContainsKey(name), $"{name} reached the upstream");
            }

            Assert.NotEqual("evil.example", echo.Headers.GetValueOrDefault("x-forwarded-host"));
            Assert.Equal("http", echo.Headers["x-forwarded-proto"]);
        }
    }

    [Fact]
    public async Task X_forwarded_for_is_the_client_address_set_by_the_gateway_not_the_clients_claim()
    {
        var (response, echo) = await SendAsync(request => request.Headers.Add("X-Forwarded-For", "6.6.6.6"));
        using (response)
        {
            Assert.Equal("127.0.0.1", echo.Headers["x-forwarded-for"]);
        }
    }

    [Fact]
    public async Task The_token_is_forwarded_so_ingest_can_validate_it_again()
    {
        var token = _tokens.Valid();
        var (response, echo) = await SendAsync(request => request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token));
        using (response)
        {
            Assert.Equal($"Bearer {token}", echo.Headers["authorization"]);
        }
    }

    [Fact]
    public async Task A_fresh_request_id_replaces_the_clients_and_is_returned()
    {
        var (response, echo) = await SendAsync(request => request.Headers.Add("X-Request-Id", "client-chosen"));
        using (response)
        {
            var forwarded = echo.Headers["x-request-id"];
            Assert.NotEqual("client-chosen", forwarded);
            Assert.True(Guid.TryParse(forwarded, out _));
            Assert.Equal(forwarded, response.Headers.GetValues("X-Request-Id").Single());
        }
    }

    [Fact]
    public async Task W3c_trace_context_is_forwarded_and_continues_the_clients_trace()
    {
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        var (response, echo) = await SendAsync(request => request.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01"));
        using (response)
        {
            var traceparent = echo.Headers["traceparent"].Split('-');
            Assert.Equal(4, traceparent.Length);
            Assert.Equal(traceId, traceparent[1]);
            Assert.NotEqual("00f067aa0ba902b7", traceparent[2]);
        }
    }

    [Fact]
    public async Task W3c_trace_context_is_started_when_the_client_sends_none()
    {
        var (response, echo) = await SendAsync(_ => { });
        using (response)
        {
            Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", echo.Headers["traceparent"]);
        }
    }
}
