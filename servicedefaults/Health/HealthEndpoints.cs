using System.ComponentModel;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Platform.ServiceDefaults.Health;

/// <summary>
/// <c>/healthz/live</c>: the process answers (no dependency is checked, so a storage outage never restarts pods).
/// <c>/healthz/ready</c>: every check tagged "ready" passes (storage, and Redis where configured). Both are 200 while
/// the status is Healthy or Degraded and 503 when it is Unhealthy, with the same body. Route handlers rather than the
/// health-check middleware, so the answer is a named type that the OpenAPI document describes.
/// </summary>
public static class HealthEndpoints
{
    public const string ReadyTag = "ready";

    public static IEndpointRouteBuilder MapPlatformHealth(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var health = app.MapGroup("/healthz").WithTags("Health").AllowAnonymous();
        health.MapGet("/live", static (HealthCheckService checks, HttpContext context) => AnswerAsync(checks, static _ => false, context))
            .WithName("Live").WithSummary("The process answers; no dependency is checked")
            .Produces<HealthAnswer>(StatusCodes.Status200OK);
        health.MapGet("/ready", static (HealthCheckService checks, HttpContext context) => AnswerAsync(checks, static check => check.Tags.Contains(ReadyTag), context))
            .WithName("Ready").WithSummary("Every readiness check passes (storage, the dedup store, the write-ahead log); Degraded is still ready")
            .Produces<HealthAnswer>(StatusCodes.Status200OK)
            .Produces<HealthAnswer>(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<IResult> AnswerAsync(HealthCheckService checks, Func<HealthCheckRegistration, bool> predicate, HttpContext context)
    {
        var report = await checks.CheckHealthAsync(predicate, context.RequestAborted);
        context.Response.Headers.CacheControl = "no-store";
        var answer = new HealthAnswer(
            report.Status.ToString(),
            report.Entries.ToDictionary(static e => e.Key, static e => new HealthCheckAnswer(e.Value.Status.ToString(), e.Value.Description)));
        return report.Status == HealthStatus.Unhealthy
            ? TypedResults.Json(answer, HealthJsonContext.Default.HealthAnswer, statusCode: StatusCodes.Status503ServiceUnavailable)
            : TypedResults.Json(answer, HealthJsonContext.Default.HealthAnswer);
    }
}

/// <summary>A health answer: the overall status and each check's.</summary>
public sealed record HealthAnswer(
    [property: JsonPropertyName("status"), Description("Healthy, Degraded or Unhealthy")] string Status,
    [property: JsonPropertyName("checks")] IReadOnlyDictionary<string, HealthCheckAnswer> Checks);

public sealed record HealthCheckAnswer(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("description"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Description);

[JsonSerializable(typeof(HealthAnswer))]
internal sealed partial class HealthJsonContext : JsonSerializerContext;
