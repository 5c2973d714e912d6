using System.Net;
using Platform.Tests.Auth;
using Platform.Tests.Integration;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Gateway;

/// <summary>
/// Per-tenant token buckets in one gateway in front of a real ingest. Buckets refill one token every 100 s, so a
/// test's requests all fall inside one window whatever the machine's speed.
/// </summary>
public sealed class RateLimitTests : IDisposable
{
    private readonly IngestHost _ingest = new();
    private readonly GatewayTokens _tokens;
    private readonly GatewayHost _gateway;

    public RateLimitTests()
    {
        _tokens = new GatewayTokens(_ingest.KeyDirectory);
        _gateway = new GatewayHost(_ingest.Client.BaseAddress!, _tokens.PublicKeyFile, new Dictionary<string, string?>
        {
            ["RateLimiting:RequestsPerSecond"] = "0.01",
            ["RateLimiting:Burst"] = "3",
            ["RateLimiting:Tenants:big:Burst"] = "5",
        });
    }

    public void Dispose()
    {
        _gateway.Dispose();
        _ingest.Dispose();
    }

    private Task<HttpResponseMessage> PostAsync(string tenant, int user) =>
        GatewayFixture.PostAsync(_gateway.Client, Batch(1, _ => Event(userId: $"u{user}")), _tokens.Valid(tenant));

    private async Task<List<HttpStatusCode>> SendAsync(string tenant, int count)
    {
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < count; i++)
        {
            using var response = await PostAsync(tenant, i);
            statuses.Add(response.StatusCode);
        }

        return statuses;
    }

    [Fact]
    public async Task The_request_after_the_burst_is_429_with_a_retry_after_and_the_contract_body()
    {
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK], await SendAsync("acme", 3));

        using var refused = await PostAsync("acme", 99);

        var message = await ContractAssert.ErrorAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.Contains("rate limit", message, StringComparison.Ordinal);
        var retryAfter = refused.Headers.RetryAfter!.Delta!.Value;
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(100));
        Assert.Equal("requests", Assert.Single(refused.Headers.GetValues("X-Throttle-Reason")));
        Assert.Equal(3, (await _ingest.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task Tenants_are_limited_independently()
    {
        await SendAsync("acme", 3);
        using var acmeRefused = await PostAsync("acme", 99);

        Assert.Equal(HttpStatusCode.TooManyRequests, acmeRefused.StatusCode);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK], await SendAsync("globex", 3));
    }

    [Fact]
    public async Task A_tenant_override_replaces_the_default_burst()
    {
        var statuses = await SendAsync("big", 6);

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.OK, 5), HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task Requests_refused_for_their_token_do_not_spend_the_tenants_tokens()
    {
        for (var i = 0; i < 5; i++)
        {
            using var refused = await GatewayFixture.PostAsync(_gateway.Client, Batch(1), TestTokens.Unsigned(GatewayTokens.Payload("acme")));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK], await SendAsync("acme", 3));
    }
}
