using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Platform.Ingest.OpenApi;

/// <summary>
/// The OpenAPI document of the public API, generated from the endpoints (their typed results, request types and
/// metadata) and completed by <see cref="ContractOperationTransformer"/> with what every answer shares: security from
/// each endpoint's authorization policy, the contract's 401/403/500, the gateway's own answers, and the headers. Served at
/// <c>/openapi/v1.json</c> (the gateway forwards that path here); Scalar's browsable reference at <c>/scalar</c> in Development.
/// </summary>
internal static class OpenApiExtensions
{
    public const string DocumentName = "v1";
    public const string DocumentPath = "/openapi/{documentName}.json";

    public static IHostApplicationBuilder AddPlatformOpenApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(DocumentName, static options =>
        {
            options.AddDocumentTransformer<PlatformDocumentTransformer>();
            options.AddOperationTransformer<ContractOperationTransformer>();
            options.AddSchemaTransformer<ContractSchemaTransformer>();
        });
        return builder;
    }

    public static WebApplication MapPlatformOpenApi(this WebApplication app)
    {
        app.MapOpenApi(DocumentPath);
        if (app.Environment.IsDevelopment())
        {
            app.MapScalarApiReference(static options => options
                .WithTitle("Platform API")
                .WithOpenApiRoutePattern(DocumentPath));
        }

        return app;
    }
}
