using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Contract;
using Platform.ServiceDefaults.Hosting;

namespace Platform.ServiceDefaults.Telemetry;

/// <summary>
/// OpenTelemetry for every service, set up once: traces (ASP.NET Core, HttpClient and the platform's own sources),
/// metrics (ASP.NET Core, HttpClient and the platform's own meters) scraped by Prometheus, OTLP export of both when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and JSON logs carrying trace ids and the request's tenant and response id.
/// </summary>
public static class TelemetryExtensions
{
    /// <summary>Every platform meter and activity source is named "Platform.*".</summary>
    public const string PlatformPrefix = "Platform.";

    public static IHostApplicationBuilder AddPlatformTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddSectionOptions<TelemetryOptions, TelemetryOptionsValidator>(TelemetryOptions.Section);
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();

        builder.Logging.Configure(static logging => logging.ActivityTrackingOptions =
            ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);
        if (options.JsonLogs)
        {
            builder.Logging.AddJsonConsole(static json =>
            {
                json.IncludeScopes = true;
                json.UseUtcTimestamp = true;
                json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            });
        }

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithTracing(tracing => tracing
                .AddSource(PlatformPrefix + "*")
                .AddAspNetCoreInstrumentation(aspnet => aspnet.Filter = static context => !IsOperational(context.Request.Path))
                .AddHttpClientInstrumentation())
            .WithMetrics(metrics => metrics
                .AddMeter(PlatformPrefix + "*")
                // The runtime's own meter: GC pauses and heap sizes, thread-pool queue, lock contention (dotnet.*).
                .AddMeter("System.Runtime")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddPrometheusExporter());
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>The Prometheus scrape endpoint, restricted to <see cref="TelemetryOptions.MetricsPort"/> when one is set.</summary>
    public static WebApplication MapPlatformMetrics(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value;
        var endpoint = app.MapPrometheusScrapingEndpoint(options.MetricsPath);
        if (options.MetricsPort > 0)
        {
            endpoint.RequireHost($"*:{options.MetricsPort}");
        }

        return app;
    }

    /// <summary>
    /// Every log line written while a request runs carries its tenant (once authenticated) and response id.
    /// Call after authentication. Tokens are never part of the scope. A service that forwards most answers from
    /// another one (the gateway) passes <paramref name="forwardsResponses"/>: its response id is then announced in
    /// <c>X-Response-Id</c> only on the answers it writes itself, so a forwarded answer carries exactly one, its
    /// author's, matching the body's <c>response_id</c>.
    /// </summary>
    public static IApplicationBuilder UsePlatformRequestLogScope(this IApplicationBuilder app, bool forwardsResponses = false)
    {
        ArgumentNullException.ThrowIfNull(app);
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Platform.Requests");
        return app.Use(async (context, next) =>
        {
            var responseId = context.GetResponseId(setHeader: !forwardsResponses);
            using (logger.BeginScope(new RequestScope(context, responseId)))
            {
                await next(context);
            }
        });
    }

    private static bool IsOperational(PathString path) =>
        path.StartsWithSegments("/healthz", StringComparison.Ordinal) || path.StartsWithSegments("/metrics", StringComparison.Ordinal);

    /// <summary>
    /// The scope's fields, as the JSON console formatter writes them. The tenant is read when a line is written, not
    /// when the scope opens: an endpoint's own scheme (a write key) authenticates during authorization, after this.
    /// </summary>
    private sealed class RequestScope(HttpContext context, string responseId) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private string Tenant => context.User.GetTenant() ?? "-";

        public int Count => 2;

        public KeyValuePair<string, object?> this[int index] => index switch
        {
            0 => new("tenant", Tenant),
            1 => new("response_id", responseId),
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
            yield return this[1];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"tenant={Tenant} response_id={responseId}";
    }
}
