using System.Net;

namespace Platform.Tests.Auth;

public sealed class AuthorizationTests(AuthAppFixture fixture) : IClassFixture<AuthAppFixture>
{
    private readonly AuthTestApp _app = fixture.App;
    private readonly TestSigningKeys _keys = fixture.Keys;

    [Fact]
    public async Task Valid_token_without_an_ingest_scope_is_403_with_the_contract_body()
    {
        var payload = TestTokens.ValidPayload(p => p["scope"] = "openid profile");

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Forbidden);
        Assert.Equal("token lacks the group_api or telemetry_apis scope", message);
    }

    [Fact]
    public async Task Valid_token_without_a_tenant_is_403()
    {
        var payload = TestTokens.ValidPayload(p => p.Remove("tenant_id"));

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains("token has no tenant", message, StringComparison.Ordinal);
        Assert.Contains("tenant_id", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tenant_longer_than_128_characters_is_403()
    {
        var payload = TestTokens.ValidPayload(p => p["tenant_id"] = new string('t', 129));

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        await ContractAssert.ErrorAsync(response, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Platform_tenant_claim_in_the_token_cannot_override_the_tenant()
    {
        var payload = TestTokens.ValidPayload(p => p["platform_tenant"] = "victim");

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestTokens.Tenant, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Platform_tenant_claim_in_the_token_cannot_stand_in_for_a_missing_tenant()
    {
        var payload = TestTokens.ValidPayload(p =>
        {
            p.Remove("tenant_id");
            p["platform_tenant"] = "victim";
        });

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        await ContractAssert.ErrorAsync(response, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Platform_scope_claim_in_the_token_grants_nothing()
    {
        var payload = TestTokens.ValidPayload(p =>
        {
            p["scope"] = "openid";
            p["platform_scope"] = new[] { "group_api", "telemetry_apis" };
        });

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        await ContractAssert.ErrorAsync(response, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Analytics_read_token_is_403_on_the_ingest_probe()
    {
        var payload = TestTokens.ValidPayload(p => p["scope"] = "analytics_read");

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Forbidden);
        Assert.Equal("token lacks the group_api or telemetry_apis scope", message);
    }

    [Fact]
    public async Task Ingest_token_is_403_on_the_read_probe()
    {
        var payload = TestTokens.ValidPayload(p => p["scope"] = "group_api telemetry_apis");

        var response = await _app.GetAsync("/read-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Forbidden);
        Assert.Equal("token lacks the analytics_read scope", message);
    }

    [Fact]
    public async Task Scope_named_audience_grants_only_its_own_scope()
    {
        var payload = TestTokens.ValidPayload(p =>
        {
            p.Remove("scope");
            p["aud"] = "telemetry_apis";
        });

        var response = await _app.GetAsync("/read-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        await ContractAssert.ErrorAsync(response, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task An_audience_named_after_the_read_scope_is_refused_and_grants_nothing()
    {
        // The reference's audience form covers its ingest scopes only: aud analytics_read must not open the query API.
        var payload = TestTokens.ValidPayload(p =>
        {
            p.Remove("scope");
            p["aud"] = new[] { TestTokens.Audience, "analytics_read" };
        });

        var read = await _app.GetAsync("/read-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));
        var alone = await _app.GetAsync("/read-probe", TestTokens.Sign(TestTokens.ValidPayload(p =>
        {
            p.Remove("scope");
            p["aud"] = "analytics_read";
        }), _keys.RsaCredentials()));

        Assert.Equal("token lacks the analytics_read scope", await ContractAssert.ErrorAsync(read, HttpStatusCode.Forbidden));
        Assert.Equal("access token audience not accepted", await ContractAssert.ErrorAsync(alone, HttpStatusCode.Unauthorized));
    }
}
