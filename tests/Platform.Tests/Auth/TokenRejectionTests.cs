using System.Net;
using System.Net.Http.Headers;
using Microsoft.IdentityModel.Tokens;

namespace Platform.Tests.Auth;

public sealed class TokenRejectionTests(AuthAppFixture fixture) : IClassFixture<AuthAppFixture>
{
    private readonly AuthTestApp _app = fixture.App;
    private readonly TestSigningKeys _keys = fixture.Keys;

    [Fact]
    public async Task Missing_token_is_401_with_the_contract_body_and_a_bearer_challenge()
    {
        var response = await _app.GetAsync("/ingest-probe", token: null);

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("access token missing", message, StringComparison.Ordinal);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Authorization_header_of_another_scheme_is_401()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/ingest-probe");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", "dXNlcjpwYXNz");

        var response = await _app.Client.SendAsync(request);

        await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Malformed_token_is_401_without_echoing_the_token()
    {
        const string token = "not-a-jwt-at-all";

        var response = await _app.GetAsync("/ingest-probe", token);

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("access token malformed", message);
        Assert.DoesNotContain(token, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("invalid_token", response.Headers.WwwAuthenticate.Single().Parameter, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_with_a_wrong_signature_is_401()
    {
        // Signed by a stranger's key but naming a trusted key's id.
        var token = TestTokens.Sign(TestTokens.ValidPayload(), _keys.StrangerCredentials(TestSigningKeys.RsaKeyId));

        var response = await _app.GetAsync("/ingest-probe", token);

        await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Token_with_a_tampered_payload_is_401()
    {
        var token = TestTokens.Sign(TestTokens.ValidPayload(), _keys.RsaCredentials());
        var parts = token.Split('.');
        var otherPayload = TestTokens.Sign(TestTokens.ValidPayload(p => p["tenant_id"] = "victim"), _keys.StrangerCredentials("x")).Split('.')[1];

        var response = await _app.GetAsync("/ingest-probe", $"{parts[0]}.{otherPayload}.{parts[2]}");

        await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Token_naming_an_unknown_kid_is_401_even_when_signed_by_a_trusted_key()
    {
        var token = TestTokens.Sign(TestTokens.ValidPayload(), _keys.RsaCredentials(keyId: "unknown-key"));

        var response = await _app.GetAsync("/ingest-probe", token);

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("access token signed with an unknown key", message);
    }

    [Fact]
    public async Task Unsigned_alg_none_token_is_401()
    {
        var response = await _app.GetAsync("/ingest-probe", TestTokens.Unsigned(TestTokens.ValidPayload()));

        await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Hs256_token_keyed_with_the_rsa_public_key_bytes_is_401()
    {
        var token = TestTokens.HmacWithPublicKey(TestTokens.ValidPayload(), _keys.RsaPublicPem, TestSigningKeys.RsaKeyId);

        var response = await _app.GetAsync("/ingest-probe", token);

        await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Rs384_token_is_401_when_only_the_default_algorithms_are_allowed()
    {
        var token = TestTokens.Sign(TestTokens.ValidPayload(), _keys.RsaCredentials(algorithm: SecurityAlgorithms.RsaSha384));

        var response = await _app.GetAsync("/ingest-probe", token);

        await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Expired_token_is_401()
    {
        var payload = TestTokens.ValidPayload(p =>
        {
            var past = DateTimeOffset.UtcNow.AddMinutes(-20);
            p["iat"] = past.ToUnixTimeSeconds();
            p["nbf"] = past.ToUnixTimeSeconds();
            p["exp"] = past.AddMinutes(10).ToUnixTimeSeconds();
        });

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("access token expired", message);
    }

    [Fact]
    public async Task Token_not_valid_until_beyond_the_clock_skew_is_401()
    {
        var payload = TestTokens.ValidPayload(p =>
        {
            p["nbf"] = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds();
            p["exp"] = DateTimeOffset.UtcNow.AddMinutes(20).ToUnixTimeSeconds();
        });

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("access token not yet valid", message);
    }

    [Fact]
    public async Task Token_without_expiry_is_401()
    {
        var payload = TestTokens.ValidPayload(p => p.Remove("exp"));

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Token_from_another_issuer_is_401()
    {
        var payload = TestTokens.ValidPayload(p => p["iss"] = "https://evil.test");

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("access token issuer not accepted", message);
    }

    [Fact]
    public async Task Token_for_another_audience_is_401()
    {
        var payload = TestTokens.ValidPayload(p => p["aud"] = "another-service");

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("access token audience not accepted", message);
    }

    [Fact]
    public async Task Token_without_audience_is_401()
    {
        var payload = TestTokens.ValidPayload(p => p.Remove("aud"));

        var response = await _app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
    }
}
