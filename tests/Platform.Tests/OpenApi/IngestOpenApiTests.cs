using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Platform.Tests.Integration;

namespace Platform.Tests.OpenApi;

/// <summary>
/// Ingest's OpenAPI document against the real service: every mapped route is documented (and nothing else), and every
/// documented example, sent as documented, gets a documented status with a body valid against the documented schema.
/// </summary>
public sealed partial class IngestOpenApiTests : IDisposable
{
    /// <summary>Routes that are no part of the API: the Prometheus scrape (its own format) and the document itself.</summary>
    private static readonly string[] Undocumented = ["* /metrics", "GET /openapi/{documentName}.json"];

    private readonly IngestHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task Every_mapped_route_is_in_the_document_and_every_documented_operation_is_mapped()
    {
        var document = await ApiDocument.FetchAsync(_host.Client);
        var mapped = _host.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(method => $"{method} {Template(e.RoutePattern.RawText!)}"))
            .Except(Undocumented)
            .Order(StringComparer.Ordinal)
            .ToList();
        var documented = document.Operations.Select(o => $"{o.Method.ToUpperInvariant()} {o.Path}").Order(StringComparer.Ordinal).ToList();

        Assert.Contains("POST /api/group", mapped);
        Assert.Contains("GET /api/groups/{groupId}", mapped);
        Assert.Equal(mapped, documented);
    }

    [Fact]
    public async Task Every_documented_example_is_answered_with_a_documented_status_and_schema()
    {
        var document = await ApiDocument.FetchAsync(_host.Client);
        // Writes first: the query examples read what the write examples stored.
        var operations = document.Operations.OrderBy(o => o.Method == "post" ? 0 : 1).ToList();
        Assert.Contains(operations, o => o.Path == "/api/group");

        var problems = new List<string>();
        foreach (var operation in operations)
        {
            using var request = Request(operation);
            using var response = await _host.Client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.OK)
            {
                problems.Add($"{operation}: the documented example got {(int)response.StatusCode}: {body}");
                continue;
            }

            problems.AddRange(document.Problems(operation, 200, body));
            problems.AddRange(ApiDocument.RequiredHeaders(operation, 200)
                .Where(header => !response.Headers.Contains(header))
                .Select(header => $"{operation}: the documented header {header} is missing"));
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public async Task Documented_failures_match_the_real_answers()
    {
        var document = await ApiDocument.FetchAsync(_host.Client);
        var ingest = document.Operations.Single(o => o.Path == "/api/group");
        var group = document.Operations.Single(o => o.Path == "/api/groups/{groupId}");

        using var invalid = await _host.PostAsync("""[{"group_id":"g","user_id":"","timestamp":"2024-05-01T12:00:00Z","traits":{"group_type":"Account"}}]""");
        using var unauthenticated = await _host.Client.GetAsync(group.ExamplePath());
        using var forbidden = await _host.SendAsync("[]", _host.Token("acme", Platform.ServiceDefaults.Auth.PlatformScopes.AnalyticsRead));
        using var notFound = await GetAsync("/api/groups/no-such-group");
        using var badParameter = await GetAsync("/api/groups/acme-inc?colour=red");

        var problems = new List<string>();
        problems.AddRange(await ProblemsAsync(document, ingest, invalid, HttpStatusCode.BadRequest));
        problems.AddRange(await ProblemsAsync(document, group, unauthenticated, HttpStatusCode.Unauthorized));
        problems.AddRange(await ProblemsAsync(document, ingest, forbidden, HttpStatusCode.Forbidden));
        problems.AddRange(await ProblemsAsync(document, group, notFound, HttpStatusCode.NotFound));
        problems.AddRange(await ProblemsAsync(document, group, badParameter, HttpStatusCode.BadRequest));
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public async Task Operations_declare_their_credentials_and_shared_headers()
    {
        var document = await ApiDocument.FetchAsync(_host.Client);
        var schemes = document.Root["components"]!["securitySchemes"]!.AsObject();

        Assert.Equal("bearer", (string?)schemes["bearer"]!["scheme"]);
        Assert.Equal("JWT", (string?)schemes["bearer"]!["bearerFormat"]);
        Assert.Equal("basic", (string?)schemes["writeKey"]!["scheme"]);
        foreach (var operation in document.Operations)
        {
            var expected = operation.Path switch
            {
                "/api/group" => ["group_api", "telemetry_apis"],
                var p when p.StartsWith("/v1/", StringComparison.Ordinal) => ["group_api", "telemetry_apis"],
                var p when p.StartsWith("/api/", StringComparison.Ordinal) => new[] { "analytics_read" },
                _ => [],
            };
            Assert.Equal(expected, operation.BearerScopes);
            Assert.Equal(operation.Path.StartsWith("/v1/", StringComparison.Ordinal),
                (operation.Operation["security"] as System.Text.Json.Nodes.JsonArray ?? []).Any(r => r!.AsObject().ContainsKey("writeKey")));
            if (operation.IsSecured)
            {
                Assert.All(new[] { 401, 403, 429, 503 }, status => Assert.NotNull(operation.Response(status)));
                Assert.Contains("Retry-After", ApiDocument.RequiredHeaders(operation, 429));
                Assert.Contains("Retry-After", ApiDocument.RequiredHeaders(operation, 503));
            }

            foreach (var (status, _) in operation.Operation["responses"]!.AsObject())
            {
                Assert.Contains("X-Response-Id", ApiDocument.RequiredHeaders(operation, int.Parse(status, System.Globalization.CultureInfo.InvariantCulture)));
            }
        }
    }

    [Fact]
    public async Task Describing_a_request_body_does_not_restrict_its_content_type()
    {
        // SDKs send what they send; the document's body types must not turn into a 415 (as Accepts<T> would).
        using var response = await _host.SendAsync(
            """[{"group_id":"g","user_id":"u","timestamp":"2024-05-01T12:00:00Z","traits":{"group_type":"Account"}}]""",
            _host.Token(), request => request.Content!.Headers.ContentType = new MediaTypeHeaderValue("text/plain"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public void The_query_api_leaves_the_applications_json_naming_alone()
    {
        var json = _host.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;

        Assert.Same(JsonNamingPolicy.CamelCase, json.PropertyNamingPolicy);
    }

    private async Task<HttpResponseMessage> GetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _host.Token("acme", Platform.ServiceDefaults.Auth.PlatformScopes.AnalyticsRead));
        return await _host.Client.SendAsync(request);
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

    /// <summary>The request the document's examples make: path, query, headers and body, with a token of the documented scope.</summary>
    private HttpRequestMessage Request(ApiOperation operation)
    {
        var request = new HttpRequestMessage(new HttpMethod(operation.Method.ToUpperInvariant()), operation.ExamplePath() + operation.ExampleQuery());
        if (operation.BearerScopes.Count > 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _host.Token("acme", operation.BearerScopes[0]));
        }

        var headers = operation.ParametersIn("header").Where(p => p["example"] is not null)
            .ToDictionary(p => (string)p["name"]!, p => p["example"]!.GetValue<string>(), StringComparer.OrdinalIgnoreCase);
        if (operation.Operation["requestBody"]?["content"]?["application/json"]?["example"] is { } example)
        {
            var bytes = Encoding.UTF8.GetBytes(example.ToJsonString());
            if (headers.Remove("Content-Encoding", out var encoding))
            {
                Assert.Equal("gzip", encoding);
                using var compressed = new MemoryStream();
                using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
                {
                    gzip.Write(bytes);
                }

                bytes = compressed.ToArray();
                request.Content = new ByteArrayContent(bytes);
                request.Content.Headers.ContentEncoding.Add("gzip");
            }
            else
            {
                request.Content = new ByteArrayContent(bytes);
            }

            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    /// <summary>A route template as the document writes it: constraints and defaults dropped ("{type:regex(...)}" is "{type}").</summary>
    private static string Template(string raw) => Parameter().Replace(raw.StartsWith('/') ? raw : "/" + raw, "{$1}");

    [GeneratedRegex(@"\{\*{0,2}([A-Za-z0-9_]+)[^}]*\}")]
    private static partial Regex Parameter();
}
