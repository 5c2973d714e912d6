using System.Net;
using Microsoft.AspNetCore.Http;
using Platform.Tests.Auth;
using Platform.Tests.Integration;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Gateway;

/// <summary>
/// The gateway holds a tenant ingest has refused for its events-per-second limit: its next ingestion requests are
/// answered 429 at the gateway until ingest's Retry-After has passed, and never reach ingest. Reads, other tenants and
/// other kinds of 429 are not held. Real HTTP round trips through the real gateway.
/// </summary>
public sealed class EventLimitHoldTests
{
    private static readonly Dictionary<string, string?> NoRequestLimit = new() { ["RateLimiting:Enabled"] = "false" };

    /// <summary>An upstream that refuses every request with 429, <paramref name="reason"/> and Retry-After 30 s.</summary>
    private static Task<EchoUpstream> RefusingUpstreamAsync(string reason) => EchoUpstream.StartAsync(async context =>
    {
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = "30";
        context.Response.Headers["X-Throttle-Reason"] = reason;
        await context.Response.WriteAsync("""{"success":false,"message":"refused"}""");
    });

    private static int Posts(EchoUpstream upstream) => upstream.Requests.Count(r => r.StartsWith("POST ", StringComparison.Ordinal));

    [Fact]
    public async Task After_an_event_limit_refusal_the_tenants_next_posts_are_refused_at_the_gateway_and_never_forwarded()
    {
        await using var upstream = await RefusingUpstreamAsync("events");
        using var ingest = new IngestHost();
        var tokens = new GatewayTokens(ingest.KeyDirectory);
        using var gateway = new GatewayHost(upstream.Address, tokens.PublicKeyFile, NoRequestLimit);

        using var first = await GatewayFixture.PostAsync(gateway.Client, Batch(1), tokens.Valid("flood"));
        Assert.Equal(HttpStatusCode.TooManyRequests, first.StatusCode);
        for (var i = 0; i < 3; i++)
        {
            using var held = await GatewayFixture.PostAsync(gateway.Client, Batch(1), tokens.Valid("flood"));
            var message = await ContractAssert.ErrorAsync(held, HttpStatusCode.TooManyRequests);
            Assert.Contains("events-per-second limit", message, StringComparison.Ordinal);
            Assert.Equal("events", Assert.Single(held.Headers.GetValues("X-Throttle-Reason")));
            Assert.InRange(held.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        }

        Assert.Equal(1, Posts(upstream));

        // Another tenant and the same tenant's reads still reach the upstream.
        using (await GatewayFixture.PostAsync(gateway.Client, Batch(1), tokens.Valid("quiet")))
        {
        }

        using var read = new HttpRequestMessage(HttpMethod.Get, "/api/groups/g1");
        read.Headers.Authorization = new("Bearer", tokens.Valid("flood"));
        using (await gateway.Client.SendAsync(read))
        {
        }

        Assert.Equal(2, Posts(upstream));
        Assert.Contains("GET /api/groups/g1", upstream.Requests);
    }

    [Theory]
    [InlineData("fair-share")]
    [InlineData("requests")]
    public async Task Other_refusals_are_not_held(string reason)
    {
        await using var upstream = await RefusingUpstreamAsync(reason);
        using var ingest = new IngestHost();
        var tokens = new GatewayTokens(ingest.KeyDirectory);
        using var gateway = new GatewayHost(upstream.Address, tokens.PublicKeyFile, NoRequestLimit);

        for (var i = 0; i < 3; i++)
        {
            using var refused = await GatewayFixture.PostAsync(gateway.Client, Batch(1), tokens.Valid("flood"));
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        }

        Assert.Equal(3, Posts(upstream));
    }

    [Fact]
    public async Task With_holds_off_every_post_reaches_ingest()
    {
        await using var upstream = await RefusingUpstreamAsync("events");
        using var ingest = new IngestHost();
        var tokens = new GatewayTokens(ingest.KeyDirectory);
        using var gateway = new GatewayHost(upstream.Address, tokens.PublicKeyFile, new Dictionary<string, string?>(NoRequestLimit)
        {
            ["RateLimiting:HoldEventLimitedTenants"] = "false",
        });

        for (var i = 0; i < 3; i++)
        {
            using (await GatewayFixture.PostAsync(gateway.Client, Batch(1), tokens.Valid("flood")))
            {
            }
        }

        Assert.Equal(3, Posts(upstream));
    }

    /// <summary>End to end with the real ingest and its event limit: ingest says why, the gateway holds, then lets go.</summary>
    [Fact]
    public async Task The_real_ingest_names_its_event_limit_and_the_gateway_lets_the_tenant_through_again_after_Retry_After()
    {
        using var ingest = new IngestHost(new Dictionary<string, string?>
        {
            ["EventLimits:Tenants:flood:EventsPerSecond"] = "1",
            ["EventLimits:Tenants:flood:Burst"] = "10",
        });
        var tokens = new GatewayTokens(ingest.KeyDirectory);
        using var gateway = new GatewayHost(ingest.Client.BaseAddress!, tokens.PublicKeyFile);

        using var filled = await GatewayFixture.PostAsync(gateway.Client, Batch(10, i => Event(userId: $"a{i}")), tokens.Valid("flood"));
        Assert.Equal(HttpStatusCode.OK, filled.StatusCode);
        using var refused = await GatewayFixture.PostAsync(gateway.Client, Batch(5, i => Event(userId: $"b{i}")), tokens.Valid("flood"));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("events", Assert.Single(refused.Headers.GetValues("X-Throttle-Reason")));
        var wait = refused.Headers.RetryAfter!.Delta!.Value;

        using var held = await GatewayFixture.PostAsync(gateway.Client, Batch(1, _ => Event(userId: "c")), tokens.Valid("flood"));
        Assert.Equal(HttpStatusCode.TooManyRequests, held.StatusCode);
        using var quiet = await GatewayFixture.PostAsync(gateway.Client, Batch(5, i => Event(userId: $"q{i}")), tokens.Valid("quiet"));
        Assert.Equal(HttpStatusCode.OK, quiet.StatusCode);

        // Once Retry-After has passed the bucket holds a token again (1 event/s) and the gateway forwards again.
        await Task.Delay(wait + TimeSpan.FromMilliseconds(200));
        using var again = await GatewayFixture.PostAsync(gateway.Client, Batch(1, _ => Event(userId: "d")), tokens.Valid("flood"));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(11, (await ingest.Store.CountAsync("flood", default)).Events);
        Assert.Equal(5, (await ingest.Store.CountAsync("quiet", default)).Events);
    }
}
