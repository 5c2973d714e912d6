using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Auth.WriteKeys;
using Platform.Tests.Gateway;
using Platform.Tests.Integration;

namespace Platform.Tests.Segment;

/// <summary>
/// A real ingest and a real gateway in front of it, both configured with the same write keys (as a deployment sets
/// them alike), shared by a test class. Each test writes into tenants of its own.
/// </summary>
public sealed class SegmentFixture : IDisposable
{
    public const string TenantA = "seg-a";
    public const string TenantB = "seg-b";

    public static readonly string KeyA = "wk_" + new string('a', 48);
    public static readonly string KeyARotated = "wk_" + new string('c', 48);
    public static readonly string KeyB = "wk_" + new string('b', 48);
    public static readonly string KeyRevoked = "wk_" + new string('d', 48);
    public static readonly string KeyReadOnly = "wk_" + new string('e', 48);

    public SegmentFixture()
        : this(DefaultKeys())
    {
    }

    /// <summary>Both services with these settings (write keys and whatever else a test needs), alike on both.</summary>
    internal SegmentFixture(IDictionary<string, string?> settings)
    {
        Ingest = new IngestHost(settings);
        Tokens = new GatewayTokens(Ingest.KeyDirectory);
        Gateway = new GatewayHost(Ingest.Client.BaseAddress!, Tokens.PublicKeyFile, settings);
    }

    private static Dictionary<string, string?> DefaultKeys()
    {
        var keys = new Dictionary<string, string?>();
        void Add(string name, string key, string tenant, string? scope = null, bool revoked = false)
        {
            keys[$"WriteKeys:Keys:{name}:Sha256"] = WriteKeyHash.Of(key);
            keys[$"WriteKeys:Keys:{name}:Tenant"] = tenant;
            if (scope is not null)
            {
                keys[$"WriteKeys:Keys:{name}:Scopes:0"] = scope;
            }

            if (revoked)
            {
                keys[$"WriteKeys:Keys:{name}:Revoked"] = "true";
            }
        }

        Add("a-2026", KeyA, TenantA);
        Add("a-2027", KeyARotated, TenantA, PlatformScopes.TelemetryApis);
        Add("b-2026", KeyB, TenantB);
        Add("a-2025", KeyRevoked, TenantA, revoked: true);
        Add("a-reader", KeyReadOnly, TenantA, PlatformScopes.AnalyticsRead);
        return keys;
    }

    internal IngestHost Ingest { get; }

    internal GatewayHost Gateway { get; }

    internal GatewayTokens Tokens { get; }

    /// <summary>The client of ingest itself, or of the gateway in front of it.</summary>
    internal HttpClient Client(bool throughGateway) => throughGateway ? Gateway.Client : Ingest.Client;

    internal static AuthenticationHeaderValue Basic(string key) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")));

    internal static async Task<HttpResponseMessage> PostAsync(
        HttpClient client, string path, string json, string? writeKey, Action<HttpRequestMessage>? adjust = null, bool gzip = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (gzip)
        {
            using var compressed = new MemoryStream();
            await using (var zip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                await zip.WriteAsync(Encoding.UTF8.GetBytes(json));
            }

            request.Content = new ByteArrayContent(compressed.ToArray());
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Content.Headers.ContentEncoding.Add("gzip");
        }
        else
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        if (writeKey is not null)
        {
            request.Headers.Authorization = Basic(writeKey);
        }

        adjust?.Invoke(request);
        return await client.SendAsync(request);
    }

    /// <summary>The users of a group as the query API answers them (user_id → first_seen), read with a JWT.</summary>
    internal async Task<Dictionary<string, string>> UsersAsync(string tenant, string groupId)
    {
        using var response = await GatewayFixture.GetAsync(Ingest.Client, $"/api/groups/{Uri.EscapeDataString(groupId)}/users",
            Tokens.Valid(tenant, "analytics_read"));
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("items").EnumerateArray()
            .ToDictionary(u => u.GetProperty("user_id").GetString()!, u => u.GetProperty("first_seen").GetString()!);
    }

    /// <summary>A group's profile from the query API, or null for 404.</summary>
    internal async Task<JsonElement?> ProfileAsync(string tenant, string groupId)
    {
        using var response = await GatewayFixture.GetAsync(Ingest.Client, $"/api/groups/{Uri.EscapeDataString(groupId)}",
            Tokens.Valid(tenant, "analytics_read"));
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    public void Dispose()
    {
        Gateway.Dispose();
        Ingest.Dispose();
    }
}

/// <summary>The Segment endpoints' answer body, with their extra counts.</summary>
internal sealed record SegmentBody(bool Success, string ResponseId, string Message, int? Accepted, int? Duplicates, int? Skipped, int? Rejected, ContractError[]? Errors)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static async Task<SegmentBody> ReadAsync(HttpResponseMessage response) =>
        (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<SegmentBody>(response.Content, Json))!;
}
