using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Platform.Tests.Auth;

/// <summary>Keys from an OIDC authority: a real local metadata server publishing a JWKS.</summary>
public sealed class AuthorityTests : IAsyncLifetime
{
    private const string AuthorityKeyId = "authority-key";
    private readonly ECDsa _authorityKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private WebApplication _authority = null!;
    private string _authorityUrl = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _authority = builder.Build();

        var publicKey = _authorityKey.ExportParameters(includePrivateParameters: false);
        _authority.MapGet("/.well-known/openid-configuration", (HttpContext context) => Results.Json(new Dictionary<string, string>
        {
            ["issuer"] = _authorityUrl,
            ["jwks_uri"] = $"{_authorityUrl}jwks",
        }));
        _authority.MapGet("/jwks", () => Results.Json(new
        {
            keys = new[]
            {
                new Dictionary<string, string>
                {
                    ["kty"] = "EC",
                    ["crv"] = "P-256",
                    ["kid"] = AuthorityKeyId,
                    ["use"] = "sig",
                    ["alg"] = "ES256",
                    ["x"] = Base64UrlEncoder.Encode(publicKey.Q.X),
                    ["y"] = Base64UrlEncoder.Encode(publicKey.Q.Y),
                },
            },
        }));
        await _authority.StartAsync();
        _authorityUrl = _authority.Urls.First().TrimEnd('/') + "/";
    }

    [Fact]
    public async Task Token_signed_by_a_key_from_the_authority_jwks_is_accepted()
    {
        await using var app = await StartAppAsync();
        var credentials = TestSigningKeys.Credentials(new ECDsaSecurityKey(_authorityKey) { KeyId = AuthorityKeyId }, SecurityAlgorithms.EcdsaSha256);

        var response = await app.GetAsync("/ingest-probe", TestTokens.Sign(TestTokens.ValidPayload(), credentials));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestTokens.Tenant, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Token_naming_a_kid_absent_from_the_authority_jwks_is_401()
    {
        await using var app = await StartAppAsync();
        var credentials = TestSigningKeys.Credentials(new ECDsaSecurityKey(_authorityKey) { KeyId = "rotated-away" }, SecurityAlgorithms.EcdsaSha256);

        var response = await app.GetAsync("/ingest-probe", TestTokens.Sign(TestTokens.ValidPayload(), credentials));

        await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
    }

    public async Task DisposeAsync()
    {
        await _authority.StopAsync();
        await _authority.DisposeAsync();
        _authorityKey.Dispose();
    }

    private Task<AuthTestApp> StartAppAsync() => AuthTestApp.StartAsync(new Dictionary<string, string?>
    {
        ["Auth:Issuer"] = TestTokens.Issuer,
        ["Auth:Authority"] = _authorityUrl,
        ["Auth:RequireHttpsMetadata"] = "false",
    });
}
