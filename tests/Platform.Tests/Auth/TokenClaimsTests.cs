using System.Security.Claims;
using System.Text.Json;
using CsCheck;
using Microsoft.IdentityModel.JsonWebTokens;
using Platform.ServiceDefaults.Auth;

namespace Platform.Tests.Auth;

/// <summary>Scope and tenant extraction over claims exactly as the token handler produces them from a payload.</summary>
public sealed class TokenClaimsTests
{
    /// <summary>What an audience may grant by default (<c>Auth:AudienceScopes</c>).</summary>
    private static readonly string[] IngestScopes = [PlatformScopes.TelemetryApis, PlatformScopes.GroupApi];

    [Fact]
    public void Scope_claim_is_split_on_spaces()
    {
        var scopes = TokenClaims.GrantedScopes(Claims(new { scope = " openid  group_api profile " }), IngestScopes);

        Assert.Equal(["openid", "group_api", "profile"], scopes);
    }

    [Fact]
    public void Scp_string_is_split_on_spaces()
    {
        var scopes = TokenClaims.GrantedScopes(Claims(new { scp = "group_api analytics_read" }), IngestScopes);

        Assert.Equal(["group_api", "analytics_read"], scopes);
    }

    [Fact]
    public void Each_item_of_an_scp_array_is_a_scope()
    {
        var scopes = TokenClaims.GrantedScopes(Claims(new { scp = new[] { "group_api", "analytics_read" } }), IngestScopes);

        Assert.Equal(["group_api", "analytics_read"], scopes);
    }

    [Fact]
    public void Scope_named_audiences_grant_their_scope_when_enabled()
    {
        var claims = Claims(new { aud = new[] { "platform", "telemetry_apis" } });

        Assert.Equal(["telemetry_apis"], TokenClaims.GrantedScopes(claims, IngestScopes));
        Assert.Empty(TokenClaims.GrantedScopes(claims, []));
    }

    [Fact]
    public void An_audience_grants_only_the_scopes_it_may_stand_for()
    {
        var claims = Claims(new { aud = new[] { "analytics_read", "group_api" } });

        Assert.Equal(["group_api"], TokenClaims.GrantedScopes(claims, IngestScopes));
        Assert.Equal(["analytics_read", "group_api"], TokenClaims.GrantedScopes(claims, [PlatformScopes.AnalyticsRead, PlatformScopes.GroupApi]));
    }

    [Fact]
    public void Audience_that_is_not_a_platform_scope_grants_nothing()
    {
        var scopes = TokenClaims.GrantedScopes(Claims(new { aud = "admin" }), IngestScopes);

        Assert.Empty(scopes);
    }

    [Fact]
    public void Scope_granted_several_ways_appears_once()
    {
        var claims = Claims(new { scope = "group_api group_api", scp = new[] { "group_api" }, aud = "group_api" });

        Assert.Equal(["group_api"], TokenClaims.GrantedScopes(claims, IngestScopes));
    }

    [Fact]
    public void Scope_claims_that_are_not_strings_are_ignored()
    {
        var scopes = TokenClaims.GrantedScopes(Claims(new { scope = 7, scp = new { group_api = true } }), IngestScopes);

        Assert.Empty(scopes);
    }

    [Fact]
    public void Space_separated_scope_yields_each_distinct_word_in_order()
    {
        var word = Gen.String[Gen.Char['a', 'z'], 1, 12];
        Gen.Select(word.Array[0, 8], Gen.Int[1, 3]).Sample((words, spaces) =>
        {
            var claim = new Claim("scope", string.Join(new string(' ', spaces), words));

            var scopes = TokenClaims.GrantedScopes([claim], []);

            Assert.Equal(words.Distinct(StringComparer.Ordinal), scopes);
        });
    }

    [Fact]
    public void Tenant_is_the_configured_claims_string_value()
    {
        Assert.Equal("acme", TokenClaims.Tenant(Claims(new { tenant_id = "acme", org = "other" }), "tenant_id"));
    }

    [Fact]
    public void Tenant_that_looks_like_a_date_is_still_a_tenant()
    {
        // The token handler types such strings as DateTime; they are strings in the token all the same.
        Assert.Equal("2024-01-01", TokenClaims.Tenant(Claims(new { tenant_id = "2024-01-01" }), "tenant_id"));
    }

    [Fact]
    public void Tenant_of_128_characters_is_kept()
    {
        var tenant = new string('t', TokenClaims.MaxTenantLength);

        Assert.Equal(tenant, TokenClaims.Tenant(Claims(new { tenant_id = tenant }), "tenant_id"));
    }

    [Theory]
    [InlineData("""{"tenant_id":""}""")]
    [InlineData("""{"tenant_id":"   "}""")]
    [InlineData("""{"tenant_id":"a\u0000b"}""")]
    [InlineData("""{"tenant_id":42}""")]
    [InlineData("""{"tenant_id":true}""")]
    [InlineData("""{"tenant_id":{"id":"acme"}}""")]
    [InlineData("""{"tenant_id":["acme","globex"]}""")]
    [InlineData("""{"org":"acme"}""")]
    public void Tenant_claim_that_is_not_one_usable_string_is_no_tenant(string payload)
    {
        Assert.Null(TokenClaims.Tenant(new JsonWebToken("{}", payload).Claims, "tenant_id"));
    }

    [Fact]
    public void Tenant_longer_than_128_characters_is_no_tenant()
    {
        var tenant = new string('t', TokenClaims.MaxTenantLength + 1);

        Assert.Null(TokenClaims.Tenant(Claims(new { tenant_id = tenant }), "tenant_id"));
    }

    [Fact]
    public void Normalize_replaces_platform_claims_carried_by_the_token()
    {
        var identity = new ClaimsIdentity(
            Claims(new { scope = "analytics_read", tenant_id = "acme", platform_tenant = "victim", platform_scope = "group_api" }),
            "test");
        var principal = new ClaimsPrincipal(identity);

        TokenClaims.Normalize(principal, "tenant_id", IngestScopes);

        Assert.Equal("acme", principal.GetTenant());
        Assert.Equal(["analytics_read"], principal.FindAll(PlatformClaims.Scope).Select(c => c.Value));
        Assert.False(principal.HasScope(PlatformScopes.GroupApi));
    }

    [Fact]
    public void Normalize_without_a_tenant_leaves_no_tenant()
    {
        var principal = new ClaimsPrincipal(new ClaimsIdentity(Claims(new { scope = "group_api", platform_tenant = "victim" }), "test"));

        TokenClaims.Normalize(principal, "tenant_id", IngestScopes);

        Assert.Null(principal.GetTenant());
        Assert.True(principal.HasScope(PlatformScopes.GroupApi));
    }

    private static IEnumerable<Claim> Claims(object payload) => new JsonWebToken("{}", JsonSerializer.Serialize(payload)).Claims;
}
