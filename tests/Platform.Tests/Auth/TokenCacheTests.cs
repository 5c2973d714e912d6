using System.Net;

namespace Platform.Tests.Auth;

/// <summary>
/// The validated-token cache seen over HTTP: remembering a token changes nothing a client can observe, except cost.
/// Each test first gets a valid token accepted (and so remembered), then checks what must still be refused.
/// </summary>
public sealed class TokenCacheTests : IAsyncLifetime, IDisposable
{
    private readonly TestSigningKeys _keys = new();
    private AuthTestApp _app = null!;

    public async Task InitializeAsync()
    {
        var settings = AuthTestApp.Settings(_keys);
        settings["Auth:ClockSkew"] = "00:00:00";
        _app = await AuthTestApp.StartAsync(settings);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    public void Dispose() => _keys.Dispose();

    [Fact]
    public async Task A_remembered_token_is_refused_once_its_exp_has_passed()
    {
        var expires = DateTimeOffset.UtcNow.AddSeconds(2);
        var token = TestTokens.Sign(TestTokens.ValidPayload(p => p["exp"] = expires.ToUnixTimeSeconds()), _keys.EcCredentials());
        using var accepted = await _app.GetAsync("/ingest-probe", token);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);

        // exp has one-second resolution and no clock skew is allowed here: a second past it the token is expired.
        await Task.Delay(DateTimeOffset.FromUnixTimeSeconds(expires.ToUnixTimeSeconds()).AddSeconds(1.2) - DateTimeOffset.UtcNow);
        using var refused = await _app.GetAsync("/ingest-probe", token);

        Assert.Equal("access token expired", await ContractAssert.ErrorAsync(refused, HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task A_forged_signature_on_a_remembered_payload_is_refused()
    {
        var payload = TestTokens.ValidPayload();
        var genuine = TestTokens.Sign(payload, _keys.RsaCredentials());
        using var accepted = await _app.GetAsync("/ingest-probe", genuine);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);

        var forged = TestTokens.Sign(payload, _keys.StrangerCredentials(TestSigningKeys.RsaKeyId));
        using var refused = await _app.GetAsync("/ingest-probe", forged);

        Assert.Equal("access token signature invalid", await ContractAssert.ErrorAsync(refused, HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task A_remembered_signature_on_a_tampered_payload_is_refused()
    {
        var genuine = TestTokens.Sign(TestTokens.ValidPayload(), _keys.RsaCredentials());
        using var accepted = await _app.GetAsync("/ingest-probe", genuine);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);

        var parts = genuine.Split('.');
        var otherPayload = TestTokens.Sign(TestTokens.ValidPayload(p => p["tenant_id"] = "victim"), _keys.StrangerCredentials("x")).Split('.')[1];
        using var refused = await _app.GetAsync("/ingest-probe", $"{parts[0]}.{otherPayload}.{parts[2]}");

        await ContractAssert.ErrorAsync(refused, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Scopes_and_tenant_are_still_derived_on_every_request_of_a_remembered_token()
    {
        var token = TestTokens.Sign(TestTokens.ValidPayload(p => p["scope"] = "group_api"), _keys.EcCredentials());

        for (var i = 0; i < 3; i++)
        {
            using var ingest = await _app.GetAsync("/ingest-probe", token);
            using var read = await _app.GetAsync("/read-probe", token);

            Assert.Equal(TestTokens.Tenant, await ingest.Content.ReadAsStringAsync());
            Assert.Contains("analytics_read", await ContractAssert.ErrorAsync(read, HttpStatusCode.Forbidden), StringComparison.Ordinal);
        }
    }
}
