using Microsoft.Extensions.Hosting;

namespace Platform.Ingest.Storage;

/// <summary>
/// Creates or migrates the storage schema while the host starts. Hosted services start before the web server
/// listens, so no request reaches a store that is not ready, and a storage that cannot open stops the process.
/// </summary>
internal sealed class EventStoreInitializer(IEventStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
