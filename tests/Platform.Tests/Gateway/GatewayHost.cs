using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.IdentityModel.Tokens;
using Platform.ServiceDefaults.Auth;
using Platform.Tests.Auth;
using Platform.Tests.Integration;

namespace Platform.Tests.Gateway;

/// <summary>
/// The real gateway on Kestrel at a free loopback port, proxying to <paramref name="upstream"/> (a real ingest, or
/// <see cref="EchoUpstream"/> where a test must see what was forwarded) and trusting the ingest host's signing key.
/// Generous default rate limits so only the tests about limits ever meet them.
/// </summary>
internal sealed class GatewayHost : WebApplicationFactory<Platform.Gateway.Program>
{
    private readonly Dictionary<string, string?> _settings;

    public GatewayHost(Uri upstream, string publicKeyFile, IDictionary<string, string?>? settings = null)
    {
        _settings = new Dictionary<string, string?>
        {
            ["Auth:Issuer"] = IngestHost.Issuer,
            ["Auth:Audiences:0"] = IngestHost.Audience,
            ["Auth:PublicKeyFiles:0"] = publicKeyFile,
            ["Proxy:IngestAddresses:0"] = upstream.GetLeftPart(UriPartial.Authority),
            ["RateLimiting:RequestsPerSecond"] = "100000",
            ["RateLimiting:Burst"] = "100000",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        UseKestrel(0);
        StartServer();

        // A plain client, so requests go out exactly as a client would send them (the factory's client buffers
        // bodies for redirects, which turns a chunked body into one with a Content-Length).
        using var factoryClient = CreateClient();
        Address = factoryClient.BaseAddress!;
        // No trace propagation of its own: the process has OpenTelemetry listeners (the hosts'), and .NET would then
        // add its own traceparent beside one a test sets, as no real external client does.
        Client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = Address };
    }

    public Uri Address { get; }

    public HttpClient Client { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(_settings));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Client.Dispose();
        }
    }
}

/// <summary>Tokens signed with (or forged against) the ingest host's development key, which both services trust.</summary>
internal sealed class GatewayTokens(string keyDirectory)
{
    public const string KeyId = DevelopmentKeys.KeyId;

    public string PublicKeyFile { get; } = Path.Combine(keyDirectory, DevelopmentKeys.PublicKeyFileName);

    public string PublicKeyPem => File.ReadAllText(PublicKeyFile);

    /// <summary>A payload both services accept for ingest and reads; tests change or remove claims.</summary>
    public static Dictionary<string, object> Payload(string tenant = "acme", string scope = "group_api analytics_read", Action<Dictionary<string, object>>? change = null)
    {
        var payload = TestTokens.ValidPayload(p =>
        {
            p["iss"] = IngestHost.Issuer;
            p["aud"] = IngestHost.Audience;
            p["tenant_id"] = tenant;
            p["scope"] = scope;
        });
        change?.Invoke(payload);
        return payload;
    }

    public string Sign(Dictionary<string, object> payload, string? keyId = KeyId)
    {
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(File.ReadAllText(Path.Combine(keyDirectory, DevelopmentKeys.PrivateKeyFileName)));
        return TestTokens.Sign(payload, TestSigningKeys.Credentials(new ECDsaSecurityKey(ecdsa) { KeyId = keyId }, SecurityAlgorithms.EcdsaSha256));
    }

    public string Valid(string tenant = "acme", string scope = "group_api analytics_read") => Sign(Payload(tenant, scope));
}
