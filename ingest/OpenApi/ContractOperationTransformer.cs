using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Microsoft.OpenApi;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Contract;

namespace Platform.Ingest.OpenApi;

/// <summary>
/// Completes each operation from its endpoint's metadata: the security requirement its authorization policy implies;
/// the answers every authorized operation shares (401 and 403 from both services, 429 and the 503 for an unreachable
/// ingest from the gateway, 400 for a body over the gateway's cap); 500 everywhere; the descriptions, examples and
/// hand-read parameters of <see cref="EndpointDocs"/>; and the headers: X-Response-Id on every answer, Retry-After
/// on 429 and 503, X-Request-Id as the gateway sets it.
/// </summary>
internal sealed class ContractOperationTransformer : IOpenApiOperationTransformer
{
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var document = context.Document!;
        operation.Responses ??= new OpenApiResponses();
        var policy = metadata.OfType<IAuthorizeData>().Select(static a => a.Policy).LastOrDefault(static p => p is not null);
        if (policy is not null)
        {
            AddSecurity(operation, document, policy);
            Add(operation, document, StatusCodes.Status401Unauthorized,
                policy == PlatformPolicies.IngestWithWriteKey
                    ? "No credential, or a token that is malformed, expired, not yet valid, wrongly signed or for another issuer or audience, or an unknown or revoked write key"
                    : "No token, or one that is malformed, expired, not yet valid, wrongly signed, revoked (gateway) or for another issuer or audience");
            Add(operation, document, StatusCodes.Status403Forbidden, "A valid credential without the scope this operation needs, or without a tenant");
            Add(operation, document, StatusCodes.Status429TooManyRequests, "(gateway) The tenant is over its rate limit; retry after Retry-After", retryAfter: true);
            Add(operation, document, StatusCodes.Status503ServiceUnavailable,
                "(gateway) No ingest instance is ready, reachable or answering in time; retry after Retry-After", retryAfter: true);
            if (context.Description.HttpMethod == HttpMethods.Post)
            {
                Add(operation, document, StatusCodes.Status400BadRequest, "(gateway) The body is over BodyLimit:MaxBodyBytes as sent; never 413");
            }
        }

        Add(operation, document, StatusCodes.Status500InternalServerError, "A bug: the body carries only the response id, which is logged with the error");

        foreach (var answer in metadata.OfType<AnswerDescription>())
        {
            Add(operation, document, answer.StatusCode, answer.Description, answer.RetryAfter, first: true);
        }

        var takesPrefer = metadata.OfType<ParameterDescription>().Any(static p => p.In == "header" && p.Name == "Prefer");
        foreach (var (status, response) in operation.Responses)
        {
            AddHeaders(status, response, routedByGateway: policy is not null, takesPrefer);
        }

        operation.Responses = Sorted(operation.Responses);
        if (metadata.OfType<RequestBodyDescription>().LastOrDefault() is { } body)
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    [ContractResponses.ContentType] = new() { Schema = await context.GetOrCreateSchemaAsync(body.Type, null, cancellationToken) },
                },
            };
        }

        AddExamplesAndParameters(operation, metadata);
    }

    /// <summary>Who may call: a token with one of the policy's scopes (any one suffices), or on /v1/* a write key.</summary>
    private static void AddSecurity(OpenApiOperation operation, OpenApiDocument document, string policy)
    {
        var requirements = new List<OpenApiSecurityRequirement>();
        string[] scopes = policy == PlatformPolicies.AnalyticsRead
            ? [PlatformScopes.AnalyticsRead]
            : [PlatformScopes.GroupApi, PlatformScopes.TelemetryApis];
        foreach (var scope in scopes)
        {
            requirements.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(PlatformDocumentTransformer.BearerScheme, document)] = [scope] });
        }

        if (policy == PlatformPolicies.IngestWithWriteKey)
        {
            requirements.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(PlatformDocumentTransformer.WriteKeyScheme, document)] = [] });
        }

        operation.Security = requirements;
    }

    /// <summary>
    /// A contract-shaped answer. An answer the endpoint already declares keeps its body; its description is joined
    /// with this one (<paramref name="first"/>: the endpoint's own meaning comes before the shared ones).
    /// </summary>
    private static void Add(OpenApiOperation operation, OpenApiDocument document, int status, string description, bool retryAfter = false, bool first = false)
    {
        var key = status.ToString(CultureInfo.InvariantCulture);
        if (operation.Responses!.TryGetValue(key, out var existing) && existing is OpenApiResponse response)
        {
            var current = response.Description;
            response.Description = string.IsNullOrEmpty(current) || current == ReasonPhrases.GetReasonPhrase(status)
                ? description
                : first ? description + ". " + current : current + ". " + description;
        }
        else
        {
            response = new OpenApiResponse
            {
                Description = description,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    [ContractResponses.ContentType] = new() { Schema = new OpenApiSchemaReference(nameof(ApiResponse), document) },
                },
            };
            operation.Responses[key] = response;
        }

        if (retryAfter)
        {
            response.Headers ??= new Dictionary<string, IOpenApiHeader>();
            response.Headers[HeaderNames.RetryAfter] = new OpenApiHeader
            {
                Description = "Whole seconds to wait before retrying",
                Required = true,
                Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1" },
            };
        }
    }

    private static void AddHeaders(string status, IOpenApiResponse answer, bool routedByGateway, bool takesPrefer)
    {
        if (answer is not OpenApiResponse response)
        {
            return;
        }

        response.Headers ??= new Dictionary<string, IOpenApiHeader>();
        response.Headers[ContractResponses.ResponseIdHeader] = new OpenApiHeader
        {
            Description = "The answer's response_id (a UUID v7), set by whichever service wrote the answer",
            Required = true,
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "uuid" },
        };
        if (routedByGateway)
        {
            response.Headers["X-Request-Id"] = new OpenApiHeader
            {
                Description = "(gateway) The request id the gateway gave the request (Headers:RequestIdHeader); absent when ingest is called directly",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            };
        }

        if (takesPrefer && status is "200" or "503")
        {
            response.Headers["Preference-Applied"] = new OpenApiHeader
            {
                Description = "The ack the answer waited for (ack=durable or ack=queryable), when the request sent Prefer",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            };
        }

        if (status == "429")
        {
            response.Headers[ThrottleReasons.Header] = new OpenApiHeader
            {
                Description = "Which limit refused the request: requests (the gateway's requests per second), events (the tenant's events per "
                    + "second, from ingest or the gateway holding the tenant until Retry-After) or fair-share (a congested write path)",
                Required = true,
                Schema = new OpenApiSchema
                {
                    Type = JsonSchemaType.String,
                    Enum = [JsonValue.Create(ThrottleReasons.Requests), JsonValue.Create(ThrottleReasons.Events), JsonValue.Create(ThrottleReasons.FairShare)],
                },
            };
        }

        if (status is "429" or "503" && !response.Headers.ContainsKey(HeaderNames.RetryAfter))
        {
            response.Headers[HeaderNames.RetryAfter] = new OpenApiHeader
            {
                Description = "Whole seconds to wait before retrying",
                Required = true,
                Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1" },
            };
        }
    }

    private static OpenApiResponses Sorted(OpenApiResponses responses)
    {
        var sorted = new OpenApiResponses();
        foreach (var (status, response) in responses.OrderBy(static r => r.Key, StringComparer.Ordinal))
        {
            sorted[status] = response;
        }

        return sorted;
    }

    private static void AddExamplesAndParameters(OpenApiOperation operation, IList<object> metadata)
    {
        if (metadata.OfType<RequestExample>().LastOrDefault() is { } example && operation.RequestBody?.Content is { } content)
        {
            foreach (var media in content.Values)
            {
                media.Example = JsonNode.Parse(example.Json);
            }
        }

        foreach (var path in metadata.OfType<PathExample>())
        {
            if (operation.Parameters?.OfType<OpenApiParameter>().FirstOrDefault(p => p.In == ParameterLocation.Path && p.Name == path.Name) is { } parameter)
            {
                parameter.Example = JsonValue.Create(path.Value);
            }
        }

        foreach (var described in metadata.OfType<ParameterDescription>())
        {
            operation.Parameters ??= new List<IOpenApiParameter>();
            var parameter = new OpenApiParameter
            {
                Name = described.Name,
                In = described.In == "header" ? ParameterLocation.Header : ParameterLocation.Query,
                Description = described.Description,
                Schema = described.FreeForm
                    ? new OpenApiSchema { Type = JsonSchemaType.Object, AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.String } }
                    : new OpenApiSchema { Type = described.Type == "integer" ? JsonSchemaType.Integer : JsonSchemaType.String },
                Example = described.Example is null ? null
                    : described.FreeForm ? JsonNode.Parse(described.Example)
                    : described.Type == "integer" ? JsonValue.Create(int.Parse(described.Example, CultureInfo.InvariantCulture))
                    : JsonValue.Create(described.Example),
            };
            if (described.FreeForm)
            {
                parameter.Style = ParameterStyle.Form;
                parameter.Explode = true;
            }

            operation.Parameters.Add(parameter);
        }
    }
}
