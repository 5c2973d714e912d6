using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Platform.Tests.OpenApi;

/// <summary>One operation of the document: its path template, method and the operation object.</summary>
internal sealed record ApiOperation(string Path, string Method, JsonObject Operation)
{
    public override string ToString() => $"{Method.ToUpperInvariant()} {Path}";

    public JsonArray Parameters => Operation["parameters"] as JsonArray ?? [];

    public IEnumerable<JsonObject> ParametersIn(string location) =>
        Parameters.OfType<JsonObject>().Where(p => (string?)p["in"] == location);

    /// <summary>The scopes of the bearer requirement, or none when the operation takes no token.</summary>
    public IReadOnlyList<string> BearerScopes =>
        (Operation["security"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Where(r => r.ContainsKey("bearer"))
            .SelectMany(r => r["bearer"]!.AsArray().Select(s => (string)s!))
            .ToList();

    public bool IsSecured => Operation["security"] is JsonArray { Count: > 0 };

    public JsonObject? Response(int status) => Operation["responses"]?[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] as JsonObject;

    /// <summary>The path with every path parameter replaced by its documented example (escaped).</summary>
    public string ExamplePath()
    {
        var path = Path;
        foreach (var parameter in ParametersIn("path"))
        {
            var name = (string)parameter["name"]!;
            var example = parameter["example"] ?? throw new InvalidOperationException($"{this}: path parameter {name} has no example");
            path = path.Replace("{" + name + "}", Uri.EscapeDataString(example.GetValue<string>()), StringComparison.Ordinal);
        }

        return path;
    }

    /// <summary>The query string the documented examples make (a free-form parameter spreads into its members).</summary>
    public string ExampleQuery()
    {
        var pairs = new List<string>();
        foreach (var parameter in ParametersIn("query"))
        {
            switch (parameter["example"])
            {
                case null:
                    break;
                case JsonObject members:
                    pairs.AddRange(members.Select(m => $"{Uri.EscapeDataString(m.Key)}={Uri.EscapeDataString(m.Value!.ToString())}"));
                    break;
                case var value:
                    pairs.Add($"{Uri.EscapeDataString((string)parameter["name"]!)}={Uri.EscapeDataString(value.ToString())}");
                    break;
            }
        }

        return pairs.Count == 0 ? "" : "?" + string.Join("&", pairs);
    }
}

/// <summary>
/// The service's OpenAPI document as JSON, and JSON Schema validation of answers against it: a response's schema is
/// evaluated with the document's component schemas as its <c>$defs</c> (OpenAPI 3.1 schemas are JSON Schema 2020-12).
/// </summary>
internal sealed class ApiDocument(JsonObject root)
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch", "head", "options"];

    public JsonObject Root { get; } = root;

    public static async Task<ApiDocument> FetchAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/openapi/v1.json");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return new ApiDocument(JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    public IEnumerable<ApiOperation> Operations =>
        Root["paths"]!.AsObject().SelectMany(path => path.Value!.AsObject()
            .Where(m => Methods.Contains(m.Key))
            .Select(m => new ApiOperation(path.Key, m.Key, m.Value!.AsObject())));

    /// <summary>Every problem of <paramref name="body"/> against the documented schema of this status (empty when it validates).</summary>
    public IReadOnlyList<string> Problems(ApiOperation operation, int status, string body)
    {
        var response = operation.Response(status);
        if (response is null)
        {
            return [$"{operation}: status {status} is not documented"];
        }

        var schemaNode = response["content"]?["application/json"]?["schema"];
        if (schemaNode is null)
        {
            return [$"{operation}: status {status} documents no JSON body"];
        }

        var schema = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$defs"] = Rebase(Root["components"]!["schemas"]!.DeepClone()),
            ["allOf"] = new JsonArray(Rebase(schemaNode.DeepClone())),
        };
        var evaluation = JsonSchema.FromText(schema.ToJsonString()).Evaluate(JsonDocument.Parse(body).RootElement,
            new EvaluationOptions { OutputFormat = OutputFormat.List });
        return evaluation.IsValid
            ? []
            : (evaluation.Details ?? [])
                .Where(d => d.Errors is { Count: > 0 })
                .SelectMany(d => d.Errors!.Select(e => $"{operation} {status} at {d.InstanceLocation}: {e.Key}: {e.Value}"))
                .DefaultIfEmpty($"{operation} {status}: invalid")
                .ToList();
    }

    /// <summary>The headers the document marks required on this answer.</summary>
    public static IEnumerable<string> RequiredHeaders(ApiOperation operation, int status) =>
        (operation.Response(status)?["headers"] as JsonObject ?? [])
            .Where(h => (bool?)h.Value!["required"] == true)
            .Select(h => h.Key);

    private static JsonNode Rebase(JsonNode node)
    {
        var text = node.ToJsonString().Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal);
        return JsonNode.Parse(text)!;
    }
}
