using Platform.ServiceDefaults.Hosting;

namespace Platform.Ingest.Writing;

internal static class WriterExtensions
{
    public static IHostApplicationBuilder AddBatchWriter(this IHostApplicationBuilder builder)
    {
        builder.AddSectionOptions<WriterOptions>(WriterOptions.Section);
        builder.Services.AddSingleton<BatchWriter>();
        builder.Services.AddSingleton<IEventWriter>(static services => services.GetRequiredService<BatchWriter>());
        builder.Services.AddHostedService(static services => services.GetRequiredService<BatchWriter>());
        return builder;
    }
}
