using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Ingest.Storage.ClickHouse;

namespace Platform.Tests.Servers;

/// <summary>
/// One local cluster (<see cref="ClickHouseCluster"/>: ZooKeeper, shard 1 with two replicas, shard 2 with one) for the
/// tests of the "ClickHouse cluster" collection that leave it running; tests that kill nodes start a cluster of their
/// own. Always started here, never an external one: a test must not reshape a cluster it does not own.
/// </summary>
public sealed class ClickHouseClusterFixture : IAsyncLifetime
{
    /// <summary>Databases migrated ahead of the tests that take them; a few at once, since each waits on ON CLUSTER round trips, not on CPU.</summary>
    private const int Ahead = 3;

    private readonly ConcurrentQueue<Task<string>> _migrated = new();

    internal ClickHouseCluster Cluster { get; private set; } = null!;

    /// <summary>The node ingest talks to unless a test says otherwise: the second replica of shard 1 (see the cluster tests' ClusterStorage).</summary>
    internal ClickHouseServer DefaultNode => Cluster.Shards[0][1];

    public async Task InitializeAsync()
    {
        Cluster = await ClickHouseCluster.StartAsync();
        for (var i = 0; i < Ahead; i++)
        {
            _migrated.Enqueue(Task.Run(MigrateAsync));
        }
    }

    public async Task DisposeAsync()
    {
        while (_migrated.TryDequeue(out var pending))
        {
            try
            {
                await pending;
            }
#pragma warning disable CA1031 // A database nobody took: its failure fails no test, and the cluster goes now.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        Cluster.Dispose();
    }

    /// <summary>
    /// A new database with the latest schema, created ON CLUSTER by ingest's own migrations (through
    /// <see cref="DefaultNode"/>) while earlier tests ran: a test that only needs an empty schema does not wait the
    /// four seconds a migration takes here. The next one starts at once.
    /// </summary>
    internal Task<string> MigratedDatabaseAsync()
    {
        _migrated.Enqueue(Task.Run(MigrateAsync));
        return _migrated.TryDequeue(out var next) ? next : Task.Run(MigrateAsync);
    }

    private async Task<string> MigrateAsync()
    {
        var database = ClickHouseFixture.NewDatabase();
        using var store = new ClickHouseEventStore(
            new ClickHouseOptions
            {
                ConnectionString = DefaultNode.ConnectionString,
                Database = database,
                Cluster = ClickHouseCluster.Name,
                Timeout = TimeSpan.FromSeconds(60),
            },
            NullLogger<ClickHouseEventStore>.Instance);
        await store.InitializeAsync(default);
        return database;
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
