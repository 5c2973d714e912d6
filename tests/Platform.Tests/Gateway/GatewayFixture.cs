using System.Net.Http.Headers;
using System.Text;
using Platform.Tests.Integration;

namespace Platform.Tests.Gateway;

/// <summary>A real ingest and a real gateway in front of it, shared by a test class and stopped after it.</summary>
public sealed class GatewayFixture : IDisposable
{
    public const string RevokedTokenId = "revoked-token-id";

    public GatewayFixture()
    {
        Ingest = new IngestHost();
        Tokens = new GatewayTokens(Ingest.KeyDirectory);
        Gateway = new GatewayHost(Ingest.Client.BaseAddress!, Tokens.PublicKeyFile, new Dictionary<string, string?>
        {
            ["Revocation:DeniedTokenIds:0"] = RevokedTokenId,
        });
    }

    internal IngestHost Ingest { get; }

    internal GatewayHost Gateway { get; }

    internal GatewayTokens Tokens { get; }

    internal static async Task<HttpResponseMessage> PostAsync(HttpClient client, string json, string? token, Action<HttpRequestMessage>? adjust = null)
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
        return await client.SendAsync(request);
    }

    internal static async Task<HttpResponseMessage> GetAsync(HttpClient client, string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await client.SendAsync(request);
    }

    public void Dispose()
    {
        Gateway.Dispose();
        Ingest.Dispose();
    }
}
