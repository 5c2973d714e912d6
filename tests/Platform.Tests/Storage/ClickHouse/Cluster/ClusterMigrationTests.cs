using Platform.Ingest.Storage.ClickHouse;
using Platform.Tests.Servers;

namespace Platform.Tests.Storage.ClickHouse.Cluster;

/// <summary>
/// The migrations on a real cluster: every statement ON CLUSTER through one node, the copies through the Distributed
/// tables, the guards read on that node; old databases answer as fresh ones, and a migration run again changes nothing.
/// </summary>
[Collection(ClickHouseClusterGroup.Name)]
[Trait("Category", ClickHouseClusterGroup.Category)]
public sealed class ClusterMigrationTests(ClickHouseClusterFixture fixture) : ClickHouseMigrationContract
{
    internal override ClickHouseEndpoint Server => fixture.DefaultNode.Endpoint;

    internal override ClickHouseOptions Options(string database) => ClusterStorage.Options(fixture.DefaultNode, database);

    internal override string? StatementSettings => ClusterStorage.StatementSettings;
}
