using System.Net;
using Microsoft.IdentityModel.Tokens;

namespace Platform.Tests.Auth;

public sealed class TokenAcceptanceTests(AuthAppFixture fixture) : IClassFixture<AuthAppFixture>
{
    private readonly AuthTestApp _app = fixture.App;
    private readonly TestSigningKeys _keys = fixture.Keys;

    [Fact]
    public async Task Rs256_token_signed_by_a_configured_key_is_accepted_and_yields_its_tenant()
    {
        var token = TestTokens.Sign(TestTokens.ValidPayload(), _keys.RsaCredentials());

        var response = await _app.GetAsync("/ingest-probe", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestTokens.Tenant, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Es256_token_signed_by_a_configured_key_is_accepted()
    {
        var token = TestTokens.Sign(TestTokens.ValidPayload(), _keys.EcCredentials());

        var response = await _app.GetAsync("/ingest-probe", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestTokens.Tenant, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Token_without_kid_is_checked_against_every_configured_key()
    {
        var token = TestTokens.Sign(TestTokens.ValidPayload(), _keys.EcCredentials(keyId: null));

        var response = await _app.GetAsync("/ingest-probe", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Scope_is_read_from_a_space_separated_scope_claim()
    {
        var payload = TestTokens.ValidPayload(p => p["scope"] = "openid telemetry_apis profile");

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Scope_is_read_from_an_scp_string()
    {
        var payload = TestTokens.ValidPayload(p =>
        {
            p.Remove("scope");
            p["scp"] = "group_api";
        });

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Scope_is_read_from_an_scp_array()
    {
        var payload = TestTokens.ValidPayload(p =>
        {
            p.Remove("scope");
            p["scp"] = new[] { "openid", "analytics_read" };
        });

        var response = await _app.GetAsync("/read-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Scope_named_audience_is_accepted_and_grants_that_scope()
    {
        // The reference API's own token: aud telemetry_apis, no scope claim.
        var payload = TestTokens.ValidPayload(p =>
        {
            p.Remove("scope");
            p["aud"] = "telemetry_apis";
        });

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Token_is_accepted_when_any_of_its_audiences_is_configured()
    {
        var payload = TestTokens.ValidPayload(p => p["aud"] = new[] { "someone-else", TestTokens.Audience });

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Token_expired_within_the_clock_skew_is_accepted()
    {
        var payload = TestTokens.ValidPayload(p =>
        {
            var issued = DateTimeOffset.UtcNow.AddMinutes(-5);
            p["iat"] = issued.ToUnixTimeSeconds();
            p["nbf"] = issued.ToUnixTimeSeconds();
            p["exp"] = DateTimeOffset.UtcNow.AddSeconds(-10).ToUnixTimeSeconds();
        });

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Analytics_read_token_is_accepted_on_the_read_probe()
    {
        var payload = TestTokens.ValidPayload(p => p["scope"] = "analytics_read");

        var response = await _app.GetAsync("/read-probe", TestTokens.Sign(payload, _keys.EcCredentials()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestTokens.Tenant, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Ps256_token_is_refused_unless_configured_while_rs256_from_the_same_key_passes()
    {
        var payload = TestTokens.ValidPayload();

        var pss = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials(algorithm: SecurityAlgorithms.RsaSsaPssSha256)));
        var pkcs1 = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        Assert.Equal(HttpStatusCode.Unauthorized, pss.StatusCode);
        Assert.Equal(HttpStatusCode.OK, pkcs1.StatusCode);
    }
}
