using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Platform.ServiceDefaults.Auth;

namespace Platform.Ingest.OpenApi;

/// <summary>The document's title and description, and the two credentials: a bearer JWT with scopes, and a write key over HTTP Basic.</summary>
internal sealed class PlatformDocumentTransformer : IOpenApiDocumentTransformer
{
    public const string BearerScheme = "bearer";
    public const string WriteKeyScheme = "writeKey";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Platform API",
            Version = "v1",
            Description = "The Group API, its Segment-compatible endpoints and the query API. Clients call the gateway, which "
                + "authenticates, rate-limits per tenant and caps bodies before it forwards to ingest; answers marked (gateway) come "
                + "from it. Every answer in the contract's shape carries its response_id in X-Response-Id as well.",
        };
        // No servers: the document is read from the gateway (which forwards it here) or from ingest itself, and either way
        // the API is at the address the document came from; the generator's default would name ingest's own address.
        document.Servers = [];
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "A JWT signed with RS256 or ES256 (PS* where allowed; never none or HS*), with the configured iss and aud, exp, "
                + "the tenant in the tenant claim (Auth:TenantClaim, default tenant_id) and scopes in scope or scp: "
                + $"{PlatformScopes.GroupApi} or {PlatformScopes.TelemetryApis} to ingest, {PlatformScopes.AnalyticsRead} to read. "
                + "The scopes each operation needs are listed in its security requirement.",
        };
        document.Components.SecuritySchemes[WriteKeyScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "basic",
            Description = "A write key as the user name, the password empty (what Segment-spec SDKs send); accepted only on /v1/*. "
                + "A request without an Authorization header may carry the key as the body's top-level writeKey instead.",
        };
        document.Tags = new HashSet<OpenApiTag>
        {
            new() { Name = "Group API", Description = "Ingest group events: associate users with groups and record the groups' traits." },
            new() { Name = "Segment-compatible API", Description = "The paths Segment-spec SDKs post to; their group calls run the Group API's pipeline." },
            new() { Name = "Query API", Description = "Read merged profiles, memberships, filtered listings, counts and trait history, within the token's tenant." },
            new() { Name = "Health", Description = "Probes: served by each process itself, not forwarded by the gateway." },
        };
        return Task.CompletedTask;
    }
}
