using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Contract;

namespace Platform.Tests.Auth;

/// <summary>
/// A real Kestrel server on a free loopback port with <see cref="PlatformAuthenticationExtensions.AddPlatformAuthentication"/>
/// and two probes: <c>/ingest-probe</c> (ingest policy) and <c>/read-probe</c> (analytics-read policy),
/// each answering the caller's tenant.
/// </summary>
internal sealed class AuthTestApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AuthTestApp(WebApplication app, HttpClient client)
    {
        _app = app;
        Client = client;
    }

    public HttpClient Client { get; }

    /// <summary>Settings under <c>Auth</c> that accept the keys of <paramref name="keys"/> and <see cref="TestTokens"/>' issuer.</summary>
    public static Dictionary<string, string?> Settings(TestSigningKeys keys) => new()
    {
        ["Auth:Issuer"] = TestTokens.Issuer,
        ["Auth:PublicKeyFiles:0"] = keys.RsaPublicKeyFile,
        ["Auth:PublicKeyFiles:1"] = keys.EcPublicKeyFile,
    };

    /// <summary>Builds the app without starting it, for tests that expect start to fail.</summary>
    public static WebApplication Build(
        IDictionary<string, string?> settings,
        string environment = "Production",
        string? contentRoot = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = environment,
            ContentRootPath = contentRoot ?? AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();

        // Only the test's settings: no appsettings.json that a referenced project copies into the output, no environment.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddPlatformAuthentication();

        var app = builder.Build();
        app.MapGet("/ingest-probe", (ClaimsPrincipal user) => user.GetTenant()).RequireAuthorization(PlatformPolicies.Ingest);
        app.MapGet("/read-probe", (ClaimsPrincipal user) => user.GetTenant()).RequireAuthorization(PlatformPolicies.AnalyticsRead);
        return app;
    }

    public static async Task<AuthTestApp> StartAsync(
        IDictionary<string, string?> settings,
        string environment = "Production",
        string? contentRoot = null)
    {
        var app = Build(settings, environment, contentRoot);
        await app.StartAsync();
        var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        return new AuthTestApp(app, client);
    }

    public Task<HttpResponseMessage> GetAsync(string path, string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return Client.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Assertions on the contract's error body.</summary>
internal static class ContractAssert
{
    /// <summary>Status, and a body of <c>{success: false, response_id, message}</c> whose id matches the response header.</summary>
    public static async Task<string> ErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        Assert.False(root.GetProperty("success").GetBoolean());
        var responseId = root.GetProperty("response_id").GetString();
        Assert.False(string.IsNullOrEmpty(responseId));
        Assert.Equal(responseId, response.Headers.GetValues(ContractResponses.ResponseIdHeader).Single());
        var message = root.GetProperty("message").GetString();
        Assert.False(string.IsNullOrEmpty(message));
        return message!;
    }
}
