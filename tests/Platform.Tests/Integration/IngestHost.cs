using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Platform.Ingest.Storage;
using Platform.ServiceDefaults.Auth;

namespace Platform.Tests.Integration;

/// <summary>
/// The real ingest service on Kestrel at a free loopback port, with DuckDB in a temporary directory and a
/// signing key of its own. Storage is the real DuckDB backend behind <see cref="FaultInjectingStore"/>,
/// which passes everything through until a test asks it to fail or hold inserts.
/// </summary>
internal sealed class IngestHost : WebApplicationFactory<Program>
{
    public const string Issuer = "test-issuer";
    public const string Audience = "platform";

    private readonly Dictionary<string, string?> _settings;
    private readonly string _root = Directory.CreateTempSubdirectory("platform-ingest-").FullName;

    private readonly Action<IServiceCollection>? _configureServices;

    public IngestHost(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
    {
        _configureServices = configureServices;
        KeyDirectory = Path.Combine(_root, "keys");
        DevelopmentKeys.EnsureKeyPair(KeyDirectory);
        _settings = new Dictionary<string, string?>
        {
            ["Auth:Issuer"] = Issuer,
            ["Auth:Audiences:0"] = Audience,
            ["Auth:PublicKeyFiles:0"] = Path.Combine(KeyDirectory, DevelopmentKeys.PublicKeyFileName),
            ["Storage:DuckDb:DataDirectory"] = Path.Combine(_root, "data"),
            ["Log:Directory"] = Path.Combine(_root, "log"),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        UseKestrel(0);
        StartServer();
        Client = CreateClient();
    }

    public string KeyDirectory { get; }

    public HttpClient Client { get; }

    public FaultInjectingStore Store => Services.GetRequiredService<FaultInjectingStore>();

    /// <summary>Waits (bounded) until the writer holds at least this many events: queued, or in an insert held by the test.</summary>
    public async Task WaitForQueuedEventsAsync(long events)
    {
        var writer = Services.GetRequiredService<Platform.Ingest.Writing.BatchWriter>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (writer.QueuedEvents < events)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the writer holds {writer.QueuedEvents} events, expected {events}");
            await Task.Delay(10);
        }
    }

    public string Token(string tenant = "acme", params string[] scopes) =>
        DevelopmentKeys.MintToken(KeyDirectory, Issuer, Audience, tenant,
            scopes.Length == 0 ? [PlatformScopes.GroupApi] : scopes, TimeSpan.FromMinutes(10));

    public async Task<HttpResponseMessage> SendAsync(string json, string? token, Action<HttpRequestMessage>? adjust = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/group")
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        adjust?.Invoke(request);
        return await Client.SendAsync(request);
    }

    public Task<HttpResponseMessage> PostAsync(string json, string tenant = "acme") => SendAsync(json, Token(tenant));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(_settings));
        builder.ConfigureServices(services =>
        {
            // Wrap whatever backend the configuration chose, so tests can make it fail or stall.
            var registered = services.Single(d => d.ServiceType == typeof(IEventStore));
            services.Remove(registered);
            services.AddSingleton(provider => new FaultInjectingStore(CreateRegistered(provider, registered)));
            services.AddSingleton<IEventStore>(provider => provider.GetRequiredService<FaultInjectingStore>());
            _configureServices?.Invoke(services);
        });
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Client.Dispose();
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
                // A file still open on a slow shutdown; the temp directory is cleaned by the OS.
            }
        }
    }

    private static IEventStore CreateRegistered(IServiceProvider provider, ServiceDescriptor descriptor) => descriptor switch
    {
        { ImplementationInstance: IEventStore instance } => instance,
        { ImplementationFactory: { } factory } => (IEventStore)factory(provider),
        { ImplementationType: { } type } => (IEventStore)ActivatorUtilities.CreateInstance(provider, type),
        _ => throw new InvalidOperationException("unexpected IEventStore registration"),
    };
}

/// <summary>The parts of the contract's response body the tests read.</summary>
internal sealed record ContractBody(bool Success, string ResponseId, string Message, int? Accepted, int? Duplicates, ContractError[]? Errors)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static async Task<ContractBody> ReadAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<ContractBody>(Json))!;
}

internal sealed record ContractError(int? Index, string Field, string Message);
