using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Platform.Ingest.Query;
using Platform.Ingest.Storage.ClickHouse;
using Platform.Ingest.Storage.DuckDb;

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

        services.AddOptions<StorageOptions>()
            .Bind(builder.Configuration.GetSection(StorageOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();

        services.AddOptions<DuckDbOptions>()
            .Bind(builder.Configuration.GetSection(DuckDbOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<DuckDbOptions>, DuckDbOptionsValidator>();

        services.AddOptions<ClickHouseOptions>()
            .Bind(builder.Configuration.GetSection(ClickHouseOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ClickHouseOptions>, ClickHouseOptionsValidator>();

        services.AddSingleton<IEventStore>(CreateStore);
        // Every backend serves the query API too.
        services.AddSingleton(provider => (IGroupQueries)provider.GetRequiredService<IEventStore>());
        services.AddHostedService<EventStoreInitializer>();
        return builder;
    }

    private static IEventStore CreateStore(IServiceProvider services)
    {
        // Resolving the options validates them; an unknown backend never gets this far.
        var backend = services.GetRequiredService<IOptions<StorageOptions>>().Value.Backend;
        if (string.Equals(backend, StorageBackends.DuckDb, StringComparison.OrdinalIgnoreCase))
        {
            var options = services.GetRequiredService<IOptions<DuckDbOptions>>().Value;
            var environment = services.GetRequiredService<IHostEnvironment>();
            return new DuckDbEventStore(
                options.ResolveDatabasePath(environment.ContentRootPath),
                services.GetService<TimeProvider>() ?? TimeProvider.System,
                services.GetRequiredService<ILogger<DuckDbEventStore>>());
        }

        if (string.Equals(backend, StorageBackends.ClickHouse, StringComparison.OrdinalIgnoreCase))
        {
            return new ClickHouseEventStore(
                services.GetRequiredService<IOptions<ClickHouseOptions>>().Value,
                services.GetRequiredService<ILogger<ClickHouseEventStore>>());
        }

        throw new InvalidOperationException($"Storage backend '{backend}' has no implementation in this build.");
    }
}
