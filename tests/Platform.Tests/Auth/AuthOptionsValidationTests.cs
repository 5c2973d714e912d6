using System.Net;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Platform.Tests.Auth;

/// <summary>A wrong <c>Auth</c> setting stops the host at start with a message naming the key.</summary>
public sealed class AuthOptionsValidationTests : IDisposable
{
    private readonly TestSigningKeys _keys = new();

    [Theory]
    [InlineData("none")]
    [InlineData("HS256")]
    [InlineData("rs256")]
    public async Task Algorithm_outside_the_asymmetric_allow_list_stops_the_host(string algorithm)
    {
        var settings = AuthTestApp.Settings(_keys);
        settings["Auth:Algorithms:0"] = algorithm;

        var failure = await StartFailureAsync(settings);

        Assert.Contains($"Auth:Algorithms contains '{algorithm}'", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_issuer_stops_the_host()
    {
        var settings = AuthTestApp.Settings(_keys);
        settings.Remove("Auth:Issuer");

        var failure = await StartFailureAsync(settings);

        Assert.Contains("Auth:Issuer is required", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_keys_outside_development_stop_the_host_naming_both_settings()
    {
        var settings = new Dictionary<string, string?> { ["Auth:Issuer"] = TestTokens.Issuer };

        var failure = await StartFailureAsync(settings);

        Assert.Contains("Auth:PublicKeyFiles", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Auth:Authority", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_public_key_file_stops_the_host_naming_the_entry()
    {
        var settings = AuthTestApp.Settings(_keys);
        settings["Auth:PublicKeyFiles:1"] = Path.Combine(_keys.Directory, "absent.pem");

        var failure = await StartFailureAsync(settings);

        Assert.Contains("Auth:PublicKeyFiles:1", failure.Message, StringComparison.Ordinal);
        Assert.Contains("not found", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Private_key_file_configured_as_a_public_key_stops_the_host()
    {
        var privateFile = Path.Combine(_keys.Directory, "private.pem");
        await File.WriteAllTextAsync(privateFile, _keys.Rsa.ExportPkcs8PrivateKeyPem());
        var settings = AuthTestApp.Settings(_keys);
        settings["Auth:PublicKeyFiles:0"] = privateFile;

        var failure = await StartFailureAsync(settings);

        Assert.Contains("Auth:PublicKeyFiles:0", failure.Message, StringComparison.Ordinal);
        Assert.Contains("private key", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clock_skew_above_five_minutes_stops_the_host()
    {
        var settings = AuthTestApp.Settings(_keys);
        settings["Auth:ClockSkew"] = "00:06:00";

        var failure = await StartFailureAsync(settings);

        Assert.Contains("Auth:ClockSkew", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Auth:TokenCacheMaxAge", "00:10:01")]
    [InlineData("Auth:TokenCacheMaxAge", "-00:00:01")]
    [InlineData("Auth:TokenCacheMaxEntries", "-1")]
    [InlineData("Auth:TokenCacheMaxEntries", "1000001")]
    public async Task Token_cache_bound_out_of_range_stops_the_host(string key, string value)
    {
        var settings = AuthTestApp.Settings(_keys);
        settings[key] = value;

        var failure = await StartFailureAsync(settings);

        Assert.Contains(key + " must be between", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_http_authority_stops_the_host_unless_https_metadata_is_waived()
    {
        var settings = AuthTestApp.Settings(_keys);
        settings["Auth:Authority"] = "http://127.0.0.1:1/";

        var failure = await StartFailureAsync(settings);

        Assert.Contains("Auth:RequireHttpsMetadata", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Configured_algorithms_replace_the_defaults_rather_than_adding_to_them()
    {
        var settings = AuthTestApp.Settings(_keys);
        settings["Auth:Algorithms:0"] = SecurityAlgorithms.EcdsaSha256;
        await using var app = await AuthTestApp.StartAsync(settings);

        var rs256 = await app.GetAsync("/ingest-probe", TestTokens.Sign(TestTokens.ValidPayload(), _keys.RsaCredentials()));
        var es256 = await app.GetAsync("/ingest-probe", TestTokens.Sign(TestTokens.ValidPayload(), _keys.EcCredentials()));

        Assert.Equal(HttpStatusCode.Unauthorized, rs256.StatusCode);
        Assert.Equal(HttpStatusCode.OK, es256.StatusCode);
    }

    [Fact]
    public async Task Configured_audiences_replace_the_default()
    {
        var settings = AuthTestApp.Settings(_keys);
        settings["Auth:Audiences:0"] = "ingest";
        await using var app = await AuthTestApp.StartAsync(settings);

        var platform = await app.GetAsync("/ingest-probe", TestTokens.Sign(TestTokens.ValidPayload(), _keys.RsaCredentials()));
        var ingest = await app.GetAsync("/ingest-probe", TestTokens.Sign(TestTokens.ValidPayload(p => p["aud"] = "ingest"), _keys.RsaCredentials()));

        Assert.Equal(HttpStatusCode.Unauthorized, platform.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ingest.StatusCode);
    }

    [Fact]
    public async Task Scope_named_audience_is_refused_when_accept_scope_as_audience_is_off()
    {
        var settings = AuthTestApp.Settings(_keys);
        settings["Auth:AcceptScopeAsAudience"] = "false";
        await using var app = await AuthTestApp.StartAsync(settings);
        var payload = TestTokens.ValidPayload(p => p["aud"] = "telemetry_apis");

        var response = await app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Audience_scopes_configured_widen_what_an_audience_grants()
    {
        var settings = AuthTestApp.Settings(_keys);
        settings["Auth:AudienceScopes:0"] = "analytics_read";
        await using var app = await AuthTestApp.StartAsync(settings);
        var readAudience = TestTokens.ValidPayload(p =>
        {
            p.Remove("scope");
            p["aud"] = "analytics_read";
        });
        var ingestAudience = TestTokens.ValidPayload(p =>
        {
            p.Remove("scope");
            p["aud"] = "telemetry_apis";
        });

        var read = await app.GetAsync("/read-probe", TestTokens.Sign(readAudience, _keys.RsaCredentials()));
        var ingest = await app.GetAsync("/ingest-probe", TestTokens.Sign(ingestAudience, _keys.RsaCredentials()));

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        // The list replaces the default: telemetry_apis is no longer an audience.
        Assert.Equal(HttpStatusCode.Unauthorized, ingest.StatusCode);
    }

    [Fact]
    public async Task Audience_scope_that_is_not_a_platform_scope_stops_the_host()
    {
        var settings = AuthTestApp.Settings(_keys);
        settings["Auth:AudienceScopes:0"] = "admin";

        var failure = await StartFailureAsync(settings);

        Assert.Contains("Auth:AudienceScopes contains 'admin'", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tenant_is_read_from_the_configured_tenant_claim()
    {
        var settings = AuthTestApp.Settings(_keys);
        settings["Auth:TenantClaim"] = "org";
        await using var app = await AuthTestApp.StartAsync(settings);
        var payload = TestTokens.ValidPayload(p => p["org"] = "globex");

        var response = await app.GetAsync("/ingest-probe", TestTokens.Sign(payload, _keys.RsaCredentials()));

        Assert.Equal("globex", await response.Content.ReadAsStringAsync());
    }

    public void Dispose() => _keys.Dispose();

    private static async Task<OptionsValidationException> StartFailureAsync(Dictionary<string, string?> settings)
    {
        await using var app = AuthTestApp.Build(settings);
        return await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
    }
}
