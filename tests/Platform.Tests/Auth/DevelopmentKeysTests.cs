using System.Net;
using Microsoft.IdentityModel.JsonWebTokens;
using Platform.ServiceDefaults.Auth;

namespace Platform.Tests.Auth;

public sealed class DevelopmentKeysTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("platform-devkeys-").FullName;

    private string KeyDirectory => Path.Combine(_directory, "keys");

    [Fact]
    public async Task Minted_token_is_accepted_by_a_service_configured_with_the_development_public_key()
    {
        DevelopmentKeys.EnsureKeyPair(KeyDirectory);
        await using var app = await AuthTestApp.StartAsync(new Dictionary<string, string?>
        {
            ["Auth:Issuer"] = DevelopmentKeys.DefaultIssuer,
            ["Auth:PublicKeyFiles:0"] = Path.Combine(KeyDirectory, DevelopmentKeys.PublicKeyFileName),
        });
        var token = DevelopmentKeys.MintToken(
            KeyDirectory, DevelopmentKeys.DefaultIssuer, "platform", "acme", [PlatformScopes.GroupApi], TimeSpan.FromMinutes(5));

        var response = await app.GetAsync("/ingest-probe", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("acme", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Development_environment_without_configured_keys_creates_and_trusts_the_development_key()
    {
        var settings = new Dictionary<string, string?> { ["Auth:Issuer"] = DevelopmentKeys.DefaultIssuer };
        await using var app = await AuthTestApp.StartAsync(settings, environment: "Development", contentRoot: _directory);
        var defaultDirectory = Path.Combine(_directory, "data", "dev-keys");
        var token = DevelopmentKeys.MintToken(
            defaultDirectory, DevelopmentKeys.DefaultIssuer, "platform", "acme", [PlatformScopes.AnalyticsRead], TimeSpan.FromMinutes(5));

        var response = await app.GetAsync("/read-probe", token);

        Assert.True(File.Exists(Path.Combine(defaultDirectory, DevelopmentKeys.PublicKeyFileName)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public void Minted_token_is_es256_with_kid_dev_scope_jti_tenant_and_lifetime()
    {
        DevelopmentKeys.EnsureKeyPair(KeyDirectory);

        var token = new JsonWebToken(DevelopmentKeys.MintToken(
            KeyDirectory, "issuer", "audience", "acme", ["group_api", "analytics_read"], TimeSpan.FromMinutes(30)));

        Assert.Equal("ES256", token.Alg);
        Assert.Equal(DevelopmentKeys.KeyId, token.Kid);
        Assert.Equal("group_api analytics_read", token.GetPayloadValue<string>("scope"));
        Assert.Equal("acme", token.GetPayloadValue<string>("tenant_id"));
        Assert.False(string.IsNullOrEmpty(token.Id));
        Assert.Equal(TimeSpan.FromMinutes(30), token.ValidTo - token.IssuedAt);
        Assert.Equal(token.IssuedAt, token.ValidFrom);
    }

    [Fact]
    public void Minted_token_without_a_tenant_claim_name_carries_no_tenant()
    {
        DevelopmentKeys.EnsureKeyPair(KeyDirectory);

        var token = new JsonWebToken(DevelopmentKeys.MintToken(
            KeyDirectory, "issuer", "audience", "acme", ["group_api"], TimeSpan.FromMinutes(5), tenantClaim: null));

        Assert.False(token.TryGetPayloadValue<string>("tenant_id", out _));
    }

    [UnixFact]
    public void EnsureKeyPair_writes_the_private_key_readable_by_its_owner_only()
    {
        DevelopmentKeys.EnsureKeyPair(KeyDirectory);

#pragma warning disable CA1416 // UnixFact skips this test on Windows.
        var mode = File.GetUnixFileMode(Path.Combine(KeyDirectory, DevelopmentKeys.PrivateKeyFileName));
#pragma warning restore CA1416
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
    }

    [Fact]
    public void EnsureKeyPair_keeps_an_existing_pair()
    {
        var first = DevelopmentKeys.EnsureKeyPair(KeyDirectory);
        var privateKey = File.ReadAllText(Path.Combine(KeyDirectory, DevelopmentKeys.PrivateKeyFileName));

        var second = DevelopmentKeys.EnsureKeyPair(KeyDirectory);

        Assert.True(first);
        Assert.False(second);
        Assert.Equal(privateKey, File.ReadAllText(Path.Combine(KeyDirectory, DevelopmentKeys.PrivateKeyFileName)));
    }

    [Fact]
    public void EnsureKeyPair_rederives_a_missing_public_key_from_the_private_key()
    {
        DevelopmentKeys.EnsureKeyPair(KeyDirectory);
        var publicPath = Path.Combine(KeyDirectory, DevelopmentKeys.PublicKeyFileName);
        var publicKey = File.ReadAllText(publicPath);
        File.Delete(publicPath);

        DevelopmentKeys.EnsureKeyPair(KeyDirectory);

        Assert.Equal(publicKey, File.ReadAllText(publicPath));
    }

    [Fact]
    public void MintToken_without_a_key_pair_says_how_to_create_one()
    {
        var failure = Assert.Throws<FileNotFoundException>(() => DevelopmentKeys.MintToken(
            KeyDirectory, "issuer", "audience", "acme", [], TimeSpan.FromMinutes(5)));

        Assert.Contains(nameof(DevelopmentKeys.EnsureKeyPair), failure.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}

/// <summary>A fact about Unix file modes: skipped, visibly, on Windows.</summary>
internal sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute()
    {
        if (OperatingSystem.IsWindows())
        {
            Skip = "Unix file modes do not exist on Windows.";
        }
    }
}
