using Microsoft.Extensions.Options;
using Platform.Ingest.Writing;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Ingest.Log;

internal static class IngestLogExtensions
{
    /// <summary>
    /// Binds and validates section "Log" and registers the <see cref="IngestLog"/> as a singleton, opened (and
    /// recovered) when first resolved: the shipper, a hosted service, resolves it while the host starts, so a damaged
    /// log stops the process before it serves traffic. The container disposes it after the hosted services stopped,
    /// which writes and acknowledges every append still queued.
    /// </summary>
    public static IHostApplicationBuilder AddIngestLog(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddSectionOptions<IngestLogOptions, IngestLogOptionsValidator>(IngestLogOptions.Section)
            .AddRules<IngestLogOptions, IngestLogOptionsRules>();
        builder.Services.AddSingleton(static services =>
        {
            var options = services.GetRequiredService<IOptions<IngestLogOptions>>().Value;
            var environment = services.GetRequiredService<IHostEnvironment>();
            return IngestLog.Open(
                options.ResolveDirectory(environment.ContentRootPath),
                options.MaxBytes,
                options.SegmentBytes,
                services.GetService<TimeProvider>(),
                services.GetRequiredService<ILogger<IngestLog>>(),
                services.GetRequiredService<IOptions<WriterOptions>>().Value.FairShareAbove);
        });
        return builder;
    }
}
