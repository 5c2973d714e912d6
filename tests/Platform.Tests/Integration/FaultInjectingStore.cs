using Platform.Ingest.Storage;

namespace Platform.Tests.Integration;

/// <summary>
/// Passes every call to the real store, except that a test can make the next inserts fail (as a storage outage
/// would) or hold inserts until released (as a slow storage would).
/// </summary>
internal sealed class FaultInjectingStore(IEventStore inner) : IEventStore
{
    private int _failuresLeft;
    private TaskCompletionSource? _gate;

    public int InsertCalls { get; private set; }

    public List<int> InsertedBatchSizes { get; } = [];

    public void FailNextInserts(int count) => Interlocked.Exchange(ref _failuresLeft, count);

    public void HoldInserts() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseInserts() => _gate?.TrySetResult();

    public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    public async Task InsertAsync(IReadOnlyList<IngestBatch> batches, CancellationToken cancellationToken)
    {
        InsertCalls++;
        if (_gate is { } gate)
        {
            await gate.Task;
        }

        if (Volatile.Read(ref _failuresLeft) > 0 && Interlocked.Decrement(ref _failuresLeft) >= 0)
        {
            throw new IOException("injected storage failure");
        }

        await inner.InsertAsync(batches, cancellationToken);
        lock (InsertedBatchSizes)
        {
            InsertedBatchSizes.Add(batches.Sum(b => b.Events.Count));
        }
    }

    public Task<bool> IsHealthyAsync(CancellationToken cancellationToken) => inner.IsHealthyAsync(cancellationToken);

    public Task<StoredCounts> CountAsync(string tenant, CancellationToken cancellationToken) => inner.CountAsync(tenant, cancellationToken);

    public Task<IReadOnlyDictionary<string, string?>> GetCurrentTraitsAsync(string tenant, string groupId, CancellationToken cancellationToken) =>
        inner.GetCurrentTraitsAsync(tenant, groupId, cancellationToken);
}
