using Platform.Tests.Integration;
using Platform.Tests.Query;
using Platform.Tests.Servers;

namespace Platform.Tests.Storage.ClickHouse.Cluster;

/// <summary>The whole query API contract on the cluster: a schema made by ingest's own migrations ON CLUSTER, every read through Distributed tables.</summary>
[Collection(ClickHouseClusterGroup.Name)]
[Trait("Category", ClickHouseClusterGroup.Category)]
public sealed class ClusterQueryApiTests(ClickHouseClusterFixture fixture) : QueryApiContract
{
    // A field initializer runs before the base constructor, which calls CreateHost.
    private readonly ClickHouseClusterFixture _fixture = fixture;

    // The base constructor is synchronous; the database was migrated ahead, so this rarely waits.
    internal override IngestHost CreateHost() => ClusterStorage.Host(_fixture.DefaultNode, _fixture.MigratedDatabaseAsync().GetAwaiter().GetResult());
}

/// <summary>The end-to-end merge property (random order, random retries) on the cluster.</summary>
[Collection(ClickHouseClusterGroup.Name)]
[Trait("Category", ClickHouseClusterGroup.Category)]
public sealed class ClusterMergePropertyTests(ClickHouseClusterFixture fixture) : MergePropertyTests
{
    internal override IngestHost CreateHost() => ClusterStorage.Host(fixture.DefaultNode, fixture.MigratedDatabaseAsync().GetAwaiter().GetResult());
}
