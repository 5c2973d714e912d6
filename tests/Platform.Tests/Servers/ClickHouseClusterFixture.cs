namespace Platform.Tests.Servers;

/// <summary>
/// One local cluster (<see cref="ClickHouseCluster"/>: ZooKeeper, shard 1 with two replicas, shard 2 with one) for the
/// tests of the "ClickHouse cluster" collection that leave it running; tests that kill nodes start a cluster of their
/// own. Always started here, never an external one: a test must not reshape a cluster it does not own.
/// </summary>
public sealed class ClickHouseClusterFixture : IAsyncLifetime
{
    internal ClickHouseCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await ClickHouseCluster.StartAsync();

    public Task DisposeAsync()
    {
        Cluster.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>The cluster tests: slow to start and heavy on two cores, so they carry the trait <c>Category=Cluster</c> and run together.</summary>
[CollectionDefinition(Name)]
public sealed class ClickHouseClusterGroup : ICollectionFixture<ClickHouseClusterFixture>, ICollectionFixture<RedisFixture>
{
    public const string Name = "ClickHouse cluster";

    /// <summary>The trait the cluster tests carry: <c>dotnet test --filter Category=Cluster</c> runs them alone.</summary>
    public const string Category = "Cluster";
}
