using Platform.Tests.Integration;
using Platform.Tests.Query;
using Platform.Tests.Servers;

namespace Platform.Tests.Storage.ClickHouse.Cluster;

/// <summary>The whole query API contract on the cluster: ingest's own migrations ON CLUSTER, every read through Distributed tables.</summary>
[Collection(ClickHouseClusterGroup.Name)]
[Trait("Category", ClickHouseClusterGroup.Category)]
public sealed class ClusterQueryApiTests(ClickHouseClusterFixture fixture) : QueryApiContract
{
    // A field initializer runs before the base constructor, which calls CreateHost.
    private readonly ClickHouseClusterFixture _fixture = fixture;

    internal override IngestHost CreateHost() => ClusterStorage.Host(ClusterStorage.DefaultNode(_fixture.Cluster));
}

/// <summary>The end-to-end merge property (random order, random retries) on the cluster.</summary>
[Collection(ClickHouseClusterGroup.Name)]
[Trait("Category", ClickHouseClusterGroup.Category)]
public sealed class ClusterMergePropertyTests(ClickHouseClusterFixture fixture) : MergePropertyTests
{
    internal override IngestHost CreateHost() => ClusterStorage.Host(ClusterStorage.DefaultNode(fixture.Cluster));
}
