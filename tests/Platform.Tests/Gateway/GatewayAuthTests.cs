using System.Net;
using Platform.Tests.Auth;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Gateway;

/// <summary>Tokens through the gateway, over real HTTP, with a real ingest behind it.</summary>
public sealed class GatewayAuthTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private readonly HttpClient _gateway = fixture.Gateway.Client;
    private readonly GatewayTokens _tokens = fixture.Tokens;

    [Fact]
    public async Task A_valid_token_posts_through_the_gateway_and_the_events_are_stored()
    {
        using var response = await GatewayFixture.PostAsync(_gateway, Batch(2), _tokens.Valid("stored-tenant"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, (await fixture.Ingest.Store.CountAsync("stored-tenant", default)).Events);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_forwarded_answer_carries_one_response_id_the_one_in_its_body(bool valid)
    {
        using var response = await GatewayFixture.PostAsync(_gateway, valid ? Batch(1) : $"[{Event(userId: "")}]", _tokens.Valid("one-id"));

        var body = await Platform.Tests.Integration.ContractBody.ReadAsync(response);
        Assert.Equal(valid ? HttpStatusCode.OK : HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(body.ResponseId, response.Headers.GetValues("X-Response-Id").Single());
    }

    [Fact]
    public async Task Missing_token_is_401_in_the_contract_shape_and_nothing_is_forwarded()
    {
        using var response = await GatewayFixture.PostAsync(_gateway, Batch(1), token: null);

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("access token missing", message, StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("X-Request-Id"), "a refused request never reaches the proxy");
    }

    [Fact]
    public async Task Token_naming_an_unknown_kid_is_401()
    {
        var token = _tokens.Sign(GatewayTokens.Payload(), keyId: "someone-elses-key");

        using var response = await GatewayFixture.PostAsync(_gateway, Batch(1), token);

        Assert.Equal("access token signed with an unknown key", await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task Unsigned_alg_none_token_is_401()
    {
        using var response = await GatewayFixture.PostAsync(_gateway, Batch(1), TestTokens.Unsigned(GatewayTokens.Payload()));

        await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Hs256_token_keyed_with_the_public_key_is_401()
    {
        var token = TestTokens.HmacWithPublicKey(GatewayTokens.Payload(), _tokens.PublicKeyPem, GatewayTokens.KeyId);

        using var response = await GatewayFixture.PostAsync(_gateway, Batch(1), token);

        await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Expired_token_is_401()
    {
        var past = DateTimeOffset.UtcNow.AddMinutes(-10);
        var token = _tokens.Sign(GatewayTokens.Payload(change: p =>
        {
            p["iat"] = past.AddMinutes(-5).ToUnixTimeSeconds();
            p["nbf"] = past.AddMinutes(-5).ToUnixTimeSeconds();
            p["exp"] = past.ToUnixTimeSeconds();
        }));

        using var response = await GatewayFixture.PostAsync(_gateway, Batch(1), token);

        Assert.Equal("access token expired", await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task Token_not_yet_valid_is_401()
    {
        var future = DateTimeOffset.UtcNow.AddMinutes(10);
        var token = _tokens.Sign(GatewayTokens.Payload(change: p =>
        {
            p["nbf"] = future.ToUnixTimeSeconds();
            p["exp"] = future.AddMinutes(5).ToUnixTimeSeconds();
        }));

        using var response = await GatewayFixture.PostAsync(_gateway, Batch(1), token);

        Assert.Equal("access token not yet valid", await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task Revoked_token_id_is_401()
    {
        var token = _tokens.Sign(GatewayTokens.Payload(change: p => p["jti"] = GatewayFixture.RevokedTokenId));

        using var response = await GatewayFixture.PostAsync(_gateway, Batch(1), token);

        Assert.Equal("access token revoked", await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized));
        Assert.Contains("invalid_token", response.Headers.WwwAuthenticate.Single().Parameter, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_without_an_ingest_scope_is_403()
    {
        using var response = await GatewayFixture.PostAsync(_gateway, Batch(1), _tokens.Valid(scope: "analytics_read"));

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains("group_api", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reads_without_analytics_read_are_403()
    {
        using var response = await GatewayFixture.GetAsync(_gateway, "/api/groups/acme-inc", _tokens.Valid(scope: "group_api"));

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains("analytics_read", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/groups/via-gateway", "\"group_id\":\"via-gateway\"")]
    [InlineData("/api/groups?group_type=Gateway", "\"group_id\":\"via-gateway\"")]
    [InlineData("/api/groups/via-gateway/users", "\"user_id\":\"reader-1\"")]
    [InlineData("/api/users/reader-1/groups", "\"group_id\":\"via-gateway\"")]
    [InlineData("/api/traits/planName/counts", "\"value\":\"Gateway plan\"")]
    [InlineData("/api/groups/via-gateway/traits/planName/history", "\"value\":\"Gateway plan\"")]
    public async Task Every_query_route_reads_through_the_gateway_what_was_written_through_it(string path, string expected)
    {
        const string Written = """[{"group_id":"via-gateway","user_id":"reader-1","timestamp":"2024-01-01T00:00:00Z","traits":{"group_type":"Gateway","planName":"Gateway plan"}}]""";
        using var written = await GatewayFixture.PostAsync(_gateway, Written, _tokens.Valid("reader-tenant"));
        Assert.Equal(HttpStatusCode.OK, written.StatusCode);

        using var response = await GatewayFixture.GetAsync(_gateway, path, _tokens.Valid("reader-tenant", scope: "analytics_read"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ids_with_reserved_characters_survive_the_proxy()
    {
        const string Written = """[{"group_id":"acme inc/eu?x=1&y=%","user_id":"u","timestamp":"2024-01-01T00:00:00Z","traits":{"group_type":"Account"}}]""";
        using var written = await GatewayFixture.PostAsync(_gateway, Written, _tokens.Valid("escapes"));

        using var response = await GatewayFixture.GetAsync(_gateway, "/api/groups/" + Uri.EscapeDataString("acme inc/eu?x=1&y=%"), _tokens.Valid("escapes", scope: "analytics_read"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"group_id\":\"acme inc/eu?x=1\u0026y=%\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ingest_scope_in_the_scope_claim_is_accepted()
    {
        using var response = await GatewayFixture.PostAsync(_gateway, Batch(1), _tokens.Valid("scope-claim", scope: "telemetry_apis"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (await fixture.Ingest.Store.CountAsync("scope-claim", default)).Events);
    }

    [Fact]
    public async Task Ingest_scope_as_the_audience_is_accepted_like_the_reference_token()
    {
        var token = _tokens.Sign(GatewayTokens.Payload("scope-audience", change: p =>
        {
            p["aud"] = "telemetry_apis";
            p.Remove("scope");
        }));

        using var response = await GatewayFixture.PostAsync(_gateway, Batch(1), token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (await fixture.Ingest.Store.CountAsync("scope-audience", default)).Events);
    }

    [Fact]
    public async Task A_client_tenant_header_cannot_change_the_tenant_events_are_stored_under()
    {
        using var response = await GatewayFixture.PostAsync(_gateway, Batch(3), _tokens.Valid("honest"), request =>
        {
            request.Headers.Add("X-Tenant-Id", "victim");
            request.Headers.Add("X-Platform-Tenant", "victim");
            request.Headers.Add("X-Forwarded-User", "victim");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, (await fixture.Ingest.Store.CountAsync("honest", default)).Events);
        Assert.Equal(0, (await fixture.Ingest.Store.CountAsync("victim", default)).Events);
    }

    [Theory]
    [InlineData("GET", "/")]
    [InlineData("GET", "/api/group")]
    [InlineData("POST", "/api/groups")]
    [InlineData("GET", "/admin/config.json")]
    public async Task Anything_but_the_api_routes_is_404_in_the_contract_shape(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _tokens.Valid());

        using var response = await _gateway.SendAsync(request);

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.NotFound);
        Assert.StartsWith("Not Found", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_sent_straight_to_ingest_without_a_valid_token_is_refused()
    {
        using var unsigned = await GatewayFixture.PostAsync(fixture.Ingest.Client, Batch(1), TestTokens.Unsigned(GatewayTokens.Payload("bypass")),
            request => request.Headers.Add("X-Tenant-Id", "bypass"));
        using var none = await GatewayFixture.PostAsync(fixture.Ingest.Client, Batch(1), token: null,
            request => request.Headers.Add("X-Tenant-Id", "bypass"));

        await ContractAssert.ErrorAsync(unsigned, HttpStatusCode.Unauthorized);
        await ContractAssert.ErrorAsync(none, HttpStatusCode.Unauthorized);
        Assert.Equal(0, (await fixture.Ingest.Store.CountAsync("bypass", default)).Events);
    }
}
