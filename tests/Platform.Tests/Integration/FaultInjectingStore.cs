using Platform.Ingest.Query;
using Platform.Ingest.Shipping;
using Platform.Ingest.Storage;

namespace Platform.Tests.Integration;

/// <summary>
/// Passes every call to the real store, except that a test can make the next inserts fail (as a storage outage
/// would) or hold inserts until released (as a slow storage would).
/// </summary>
internal sealed class FaultInjectingStore(IEventStore inner) : IEventStore, IGroupQueries, IShippingTarget
{
    private readonly IGroupQueries _queries = (IGroupQueries)inner;

    private int _failuresLeft;
    private TaskCompletionSource? _gate;

    public int InsertCalls { get; private set; }

    /// <summary>When set, the health probe reports storage down, as a real outage would.</summary>
    public bool ReportUnhealthy { get; set; }

    public List<int> InsertedBatchSizes { get; } = [];

    public void FailNextInserts(int count) => Interlocked.Exchange(ref _failuresLeft, count);

    public void HoldInserts() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseInserts() => _gate?.TrySetResult();

    public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    public async Task<InsertOutcome> InsertAsync(IReadOnlyList<IngestBatch> batches, CancellationToken cancellationToken)
    {
        await BeforeInsertAsync();
        var outcome = await inner.InsertAsync(batches, cancellationToken);
        Inserted(batches.Sum(b => b.Events.Count));
        return outcome;
    }

    /// <summary>The shipper's path (ClickHouse): blocks filled from the log's encoded records, failing and held alike.</summary>
    public IShippingBlock NewBlock(int events) => new CountingBlock(((IShippingTarget)inner).NewBlock(events));

    public async Task InsertAsync(IShippingBlock block, CancellationToken cancellationToken)
    {
        var counted = (CountingBlock)block;
        await BeforeInsertAsync();
        await ((IShippingTarget)inner).InsertAsync(counted.Inner, cancellationToken);
        Inserted(counted.Events);
    }

    public int PendingStates => ((IShippingTarget)inner).PendingStates;

    /// <summary>The current-state insert fails and is held like the events' inserts, without counting as one.</summary>
    public async Task FlushStatesAsync(CancellationToken cancellationToken)
    {
        await HoldOrFailAsync();
        await ((IShippingTarget)inner).FlushStatesAsync(cancellationToken);
    }

    private Task BeforeInsertAsync()
    {
        InsertCalls++;
        return HoldOrFailAsync();
    }

    private async Task HoldOrFailAsync()
    {
        if (_gate is { } gate)
        {
            await gate.Task;
        }

        if (Volatile.Read(ref _failuresLeft) > 0 && Interlocked.Decrement(ref _failuresLeft) >= 0)
        {
            throw new IOException("injected storage failure");
        }
    }

    private void Inserted(int events)
    {
        lock (InsertedBatchSizes)
        {
            InsertedBatchSizes.Add(events);
        }
    }

    public Task<bool> IsHealthyAsync(CancellationToken cancellationToken) =>
        ReportUnhealthy ? Task.FromResult(false) : inner.IsHealthyAsync(cancellationToken);

    public Task<StoredCounts> CountAsync(string tenant, CancellationToken cancellationToken) => inner.CountAsync(tenant, cancellationToken);

    public Task<IReadOnlyDictionary<string, string>> GetCurrentTraitsAsync(string tenant, string groupId, CancellationToken cancellationToken) =>
        inner.GetCurrentTraitsAsync(tenant, groupId, cancellationToken);

    public Task<GroupProfile?> GetGroupAsync(string tenant, string groupId, CancellationToken cancellationToken) =>
        _queries.GetGroupAsync(tenant, groupId, cancellationToken);

    public Task<IReadOnlyList<MembershipRow>> GetGroupUsersAsync(string tenant, string groupId, string? afterUserId, int limit, CancellationToken cancellationToken) =>
        _queries.GetGroupUsersAsync(tenant, groupId, afterUserId, limit, cancellationToken);

    public Task<IReadOnlyList<MembershipRow>> GetUserGroupsAsync(string tenant, string userId, string? afterGroupId, int limit, CancellationToken cancellationToken) =>
        _queries.GetUserGroupsAsync(tenant, userId, afterGroupId, limit, cancellationToken);

    public Task<IReadOnlyList<GroupRow>> FindGroupsAsync(string tenant, IReadOnlyList<TraitFilter> filters, string? afterGroupId, int limit, CancellationToken cancellationToken) =>
        _queries.FindGroupsAsync(tenant, filters, afterGroupId, limit, cancellationToken);

    public Task<TraitCounts> CountGroupsByTraitAsync(string tenant, string traitKey, IReadOnlyList<TraitFilter> filters, int top, CancellationToken cancellationToken) =>
        _queries.CountGroupsByTraitAsync(tenant, traitKey, filters, top, cancellationToken);

    public Task<IReadOnlyList<TraitChange>> GetTraitHistoryAsync(string tenant, string groupId, string traitKey, HistoryPosition? after, int limit, CancellationToken cancellationToken) =>
        _queries.GetTraitHistoryAsync(tenant, groupId, traitKey, after, limit, cancellationToken);

    private sealed class CountingBlock(IShippingBlock inner) : IShippingBlock
    {
        public IShippingBlock Inner { get; } = inner;

        public int Events { get; private set; }

        public int Add(ReadOnlySpan<byte> payload)
        {
            var events = Inner.Add(payload);
            Events += events;
            return events;
        }

        public void Dispose() => Inner.Dispose();
    }
}
