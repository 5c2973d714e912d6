namespace Platform.Ingest.Dedup;

internal static class DedupExtensions
{
    public static IHostApplicationBuilder AddDedup(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DedupOptions>()
            .Bind(builder.Configuration.GetSection(DedupOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IDedupStore, InMemoryDedupStore>();
        return builder;
    }
}
