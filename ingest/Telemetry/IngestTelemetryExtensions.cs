using Platform.ServiceDefaults.Telemetry;

namespace Platform.Ingest.Telemetry;

internal static class IngestTelemetryExtensions
{
    /// <summary>The shared telemetry setup under the service name "ingest", plus the ingest path's own metrics.</summary>
    public static IHostApplicationBuilder AddIngestTelemetry(this IHostApplicationBuilder builder)
    {
        builder.AddPlatformTelemetry("ingest");
        builder.Services.AddSingleton<IngestTelemetry>();
        return builder;
    }
}
