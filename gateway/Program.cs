using Platform.Gateway.BodyLimit;
using Platform.Gateway.Headers;
using Platform.Gateway.Proxy;
using Platform.Gateway.RateLimiting;
using Platform.Gateway.Revocation;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Contract;
using Platform.ServiceDefaults.Health;
using Platform.ServiceDefaults.Redis;
using Platform.ServiceDefaults.Telemetry;

namespace Platform.Gateway;

/// <summary>
/// The gateway's entry point. An explicit Main in a namespace, not top-level statements: ingest's global
/// <c>Program</c> is public, and a second global one would be ambiguous wherever both are referenced (the tests).
/// </summary>
internal sealed class Program
{
    private Program()
    {
    }

    public static void Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.WebHost.ConfigureKestrel(static kestrel => kestrel.AddServerHeader = false);

        builder.AddPlatformTelemetry("gateway");
        builder.AddPlatformAuthentication();
        builder.AddTokenRevocation();
        builder.AddPlatformRedis("platform-gateway", keyPrefix: "platform:gateway:");
        builder.AddTenantRateLimiting();
        builder.AddHeaderHygiene();
        builder.AddBodyLimit();
        builder.AddIngestProxy();
        builder.Services.AddHealthChecks();

        var app = builder.Build();

        app.UsePlatformErrorHandling();
        app.UseAuthentication();
        app.UsePlatformRequestLogScope(forwardsResponses: true);
        app.UseTokenRevocation();
        app.UseAuthorization();
        app.UseTenantRateLimiting();
        app.MapPlatformMetrics();
        app.MapPlatformHealth();
        app.MapIngestProxy();

        app.Run();
    }
}
