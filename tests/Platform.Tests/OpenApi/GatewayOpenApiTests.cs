using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Platform.Gateway.Proxy;
using Platform.Tests.Gateway;
using Platform.Tests.Integration;
using Platform.Tests.Servers;

namespace Platform.Tests.OpenApi;

/// <summary>
/// The gateway serves ingest's document unchanged (docs/decisions.md says why), so these hold the gateway to it: every
/// documented API operation is routed by the gateway and every gateway route is documented, and the answers the gateway
/// writes itself (401 without a credential, 429, 400 over the body cap, 503 without ingest) are documented as they are.
/// </summary>
public sealed class GatewayOpenApiTests : IDisposable
{
    private readonly IngestHost _ingest = new();
    private readonly GatewayTokens _tokens;

    public GatewayOpenApiTests()
    {
        _tokens = new GatewayTokens(_ingest.KeyDirectory);
    }

    public void Dispose() => _ingest.Dispose();

    [Fact]
    public async Task The_gateway_serves_ingests_document_without_a_credential()
    {
        using var gateway = new GatewayHost(_ingest.Client.BaseAddress!, _tokens.PublicKeyFile);

        var viaGateway = await ApiDocument.FetchAsync(gateway.Client);
        var direct = await ApiDocument.FetchAsync(_ingest.Client);

        Assert.True(JsonNode.DeepEquals(direct.Root, viaGateway.Root));
    }

    [Fact]
    public async Task Every_documented_api_operation_is_routed_and_its_401_is_as_documented()
    {
        using var gateway = new GatewayHost(_ingest.Client.BaseAddress!, _tokens.PublicKeyFile);
        var document = await ApiDocument.FetchAsync(gateway.Client);

        var problems = new List<string>();
        foreach (var operation in document.Operations.Where(o => o.IsSecured))
        {
            using var request = new HttpRequestMessage(new HttpMethod(operation.Method.ToUpperInvariant()), operation.ExamplePath());
            if (operation.Method == "post")
            {
                request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
            }

            using var response = await gateway.Client.SendAsync(request);
            problems.AddRange(await ProblemsAsync(document, operation, response, HttpStatusCode.Unauthorized));
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public async Task Every_gateway_route_is_a_documented_operation()
    {
        var document = await ApiDocument.FetchAsync(_ingest.Client);
        var routes = IngestRoutes.Build(Options()).Routes;

        Assert.All(routes.Where(r => r.RouteId != "openapi"), route =>
        {
            var matcher = new TemplateMatcher(TemplateParser.Parse(route.Match.Path!.TrimStart('/')), new RouteValueDictionary());
            Assert.True(document.Operations.Any(o => route.Match.Methods!.Contains(o.Method.ToUpperInvariant())
                    && matcher.TryMatch(o.ExamplePath(), new RouteValueDictionary())),
                $"gateway route {route.RouteId} ({route.Match.Path}) matches no documented operation");
        });
    }

    [Fact]
    public async Task The_gateways_own_refusals_are_documented()
    {
        using var gateway = new GatewayHost(_ingest.Client.BaseAddress!, _tokens.PublicKeyFile, new Dictionary<string, string?>
        {
            ["RateLimiting:Tenants:slow:RequestsPerSecond"] = "0.01",
            ["RateLimiting:Tenants:slow:Burst"] = "1",
            ["BodyLimit:MaxBodyBytes"] = "1024",
        });
        var document = await ApiDocument.FetchAsync(gateway.Client);
        var ingest = document.Operations.Single(o => o.Path == "/api/group");
        var read = document.Operations.Single(o => o.Path == "/api/groups/{groupId}");

        using var first = await GatewayFixture.GetAsync(gateway.Client, read.ExamplePath(), _tokens.Valid("slow"));
        using var limited = await GatewayFixture.GetAsync(gateway.Client, read.ExamplePath(), _tokens.Valid("slow"));
        using var tooLarge = await GatewayFixture.PostAsync(gateway.Client, "[" + new string(' ', 2048) + "]", _tokens.Valid());

        var problems = new List<string>();
        problems.AddRange(await ProblemsAsync(document, read, limited, HttpStatusCode.TooManyRequests));
        problems.AddRange(await ProblemsAsync(document, ingest, tooLarge, HttpStatusCode.BadRequest));
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public async Task The_gateways_503_without_ingest_is_documented()
    {
        var document = await ApiDocument.FetchAsync(_ingest.Client);
        var ingest = document.Operations.Single(o => o.Path == "/api/group");
        using var gateway = new GatewayHost(new Uri($"http://127.0.0.1:{FreePorts.One()}"), _tokens.PublicKeyFile, new Dictionary<string, string?>
        {
            ["Proxy:ActiveHealthChecks"] = "false",
            ["Proxy:PassiveHealthChecks"] = "false",
        });

        using var response = await GatewayFixture.PostAsync(gateway.Client, "[]", _tokens.Valid());

        var problems = await ProblemsAsync(document, ingest, response, HttpStatusCode.ServiceUnavailable);
        Assert.True(!problems.Any(), string.Join('\n', problems));
    }

    private static async Task<IEnumerable<string>> ProblemsAsync(ApiDocument document, ApiOperation operation, HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != expected)
        {
            return [$"{operation}: expected {(int)expected}, got {(int)response.StatusCode}: {body}"];
        }

        return document.Problems(operation, (int)expected, body)
            .Concat(ApiDocument.RequiredHeaders(operation, (int)expected)
                .Where(h => !response.Headers.Contains(h))
                .Select(h => $"{operation} {(int)expected}: the documented header {h} is missing"));
    }

    private static ProxyOptions Options()
    {
        var options = new ProxyOptions();
        options.IngestAddresses.Add("http://127.0.0.1:1");
        return options;
    }
}
