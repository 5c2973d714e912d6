namespace Platform.Ingest.Writing;

internal static class WriterExtensions
{
    public static IHostApplicationBuilder AddBatchWriter(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<WriterOptions>()
            .Bind(builder.Configuration.GetSection(WriterOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<BatchWriter>();
        builder.Services.AddHostedService(static services => services.GetRequiredService<BatchWriter>());
        return builder;
    }
}
