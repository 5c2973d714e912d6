using Microsoft.Extensions.Options;
using Platform.Ingest.Log;
using Platform.Ingest.Shipping;
using Platform.Ingest.Storage;
using Platform.ServiceDefaults.Health;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Ingest.Writing;

internal static class WriterExtensions
{
    /// <summary>
    /// The write path behind the ingest pipeline, chosen by the storage backend:
    /// <list type="bullet">
    /// <item>ClickHouse: the write-ahead log (a 200 once the events are fsynced there), the shipper that loads it into
    /// ClickHouse in big blocks, readiness from the log's room, and a shutdown long enough to drain the log.</item>
    /// <item>Embedded DuckDB: the group-commit writer; each request waits for its own insert (no log: the database
    /// file is as local as a log would be).</item>
    /// </list>
    /// </summary>
    public static IHostApplicationBuilder AddWriting(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddSectionOptions<WriterOptions, WriterOptionsValidator>(WriterOptions.Section)
            .AddRules<WriterOptions, WriterOptionsRules>();
        builder.AddIngestLog();
        builder.AddSectionOptions<ShipperOptions, ShipperOptionsValidator>(ShipperOptions.Section)
            .AddRules<ShipperOptions, ShipperOptionsRules>();
        var services = builder.Services;
        services.AddSingleton<BatchWriter>();
        services.AddSingleton<LogShipper>();
        // The log ships to storage that takes its records as encoded (ClickHouse); only resolved when the log is used.
        services.AddSingleton<IShippingTarget>(static provider => provider.GetRequiredService<IEventStore>() as IShippingTarget
            ?? throw new InvalidOperationException("The write-ahead log ships only to a backend that loads its records (ClickHouse)."));
        services.AddSingleton<LogWriter>();
        // Chosen when the container is built, from the bound options, so every configuration source counts (tests
        // and hosts add theirs after Program registered its services). Only the chosen path is resolved: the log is
        // neither opened nor created for the embedded backend.
        services.AddSingleton<IEventWriter>(static provider => UsesLog(provider)
            ? provider.GetRequiredService<LogWriter>()
            : provider.GetRequiredService<BatchWriter>());
        services.AddSingleton<IHostedService>(static provider => UsesLog(provider)
            ? provider.GetRequiredService<LogShipper>()
            : provider.GetRequiredService<BatchWriter>());
        // The stop waits for the drain; the host must not cut it short.
        services.AddOptions<HostOptions>().Configure<IOptions<ShipperOptions>>(static (host, shipper) =>
        {
            var needed = shipper.Value.DrainTimeout + TimeSpan.FromSeconds(10);
            if (host.ShutdownTimeout < needed)
            {
                host.ShutdownTimeout = needed;
            }
        });
        services.AddHealthChecks()
            .AddCheck<StorageHealthCheck>("storage", tags: [HealthEndpoints.ReadyTag])
            .AddCheck<LogHealthCheck>("log", tags: [HealthEndpoints.ReadyTag]);
        return builder;
    }

    private static bool UsesLog(IServiceProvider provider) =>
        provider.GetRequiredService<IOptions<StorageOptions>>().Value.UsesWriteAheadLog;
}
