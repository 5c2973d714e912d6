using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Platform.Ingest.Query;
using Platform.Ingest.Storage.ClickHouse;
using Platform.Ingest.Storage.DuckDb;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Ingest.Storage;

internal static class StorageExtensions
{
    /// <summary>
    /// Registers the configured <see cref="IEventStore"/> (section "Storage") as a singleton, validates its options at
    /// start, and initializes the schema before the application serves traffic. The container disposes the store.
    /// </summary>
    internal static IHostApplicationBuilder AddEventStorage(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        builder.AddSectionOptions<StorageOptions, StorageOptionsValidator>(StorageOptions.Section);
        builder.AddSectionOptions<DuckDbOptions, DuckDbOptionsValidator>(DuckDbOptions.Section);
        builder.AddSectionOptions<ClickHouseOptions, ClickHouseOptionsValidator>(ClickHouseOptions.Section)
            .AddRules<ClickHouseOptions, ClickHouseOptionsRules>();

        services.AddSingleton<IEventStore>(CreateStore);
        // Every backend serves the query API too.
        services.AddSingleton(provider => (IGroupQueries)provider.GetRequiredService<IEventStore>());
        services.AddHostedService<EventStoreInitializer>();
        return builder;
    }

    private static IEventStore CreateStore(IServiceProvider services)
    {
        var backend = services.GetRequiredService<IOptions<StorageOptions>>().Value.Backend;
        if (backend == StorageBackend.DuckDb)
        {
            var options = services.GetRequiredService<IOptions<DuckDbOptions>>().Value;
            var environment = services.GetRequiredService<IHostEnvironment>();
            return new DuckDbEventStore(
                options.ResolveDatabasePath(environment.ContentRootPath),
                services.GetService<TimeProvider>() ?? TimeProvider.System,
                services.GetRequiredService<ILogger<DuckDbEventStore>>());
        }

        if (backend == StorageBackend.ClickHouse)
        {
            return new ClickHouseEventStore(
                services.GetRequiredService<IOptions<ClickHouseOptions>>().Value,
                services.GetRequiredService<ILogger<ClickHouseEventStore>>());
        }

        throw new InvalidOperationException($"Storage backend '{backend}' has no implementation in this build.");
    }
}
