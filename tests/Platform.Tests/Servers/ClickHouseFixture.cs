using System.Collections.Concurrent;

namespace Platform.Tests.Servers;

/// <summary>
/// One clickhouse-server for every test in the "ClickHouse" collection, or the server
/// <see cref="ExternalServers.ClickHouseVariable"/> names; each test uses databases of its own
/// (<see cref="NewDatabase"/>), dropped at the end on an external server. Tests that stop ClickHouse start their own
/// (<see cref="ClickHouseServer.StartAsync"/>).
/// </summary>
public sealed class ClickHouseFixture : IAsyncLifetime
{
    private static readonly ConcurrentBag<string> Created = [];
    private ClickHouseServer? _process;

    internal ClickHouseEndpoint Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (ExternalServers.ClickHouse is { } external)
        {
            Server = new ClickHouseEndpoint(external);
            return;
        }

        _process = await ClickHouseServer.StartAsync();
        Server = _process.Endpoint;
    }

    public async Task DisposeAsync()
    {
        if (_process is null)
        {
            // Someone else's server: leave it as it was.
            while (Created.TryTake(out var database))
            {
                await Server.QueryAsync($"DROP DATABASE IF EXISTS {database}");
            }
        }

        _process?.Dispose();
    }

    /// <summary>A database name no other test uses.</summary>
    public static string NewDatabase()
    {
        var database = "t_" + Guid.NewGuid().ToString("N");
        Created.Add(database);
        return database;
    }
}

[CollectionDefinition(Name)]
public sealed class ClickHouseServerGroup : ICollectionFixture<ClickHouseFixture>, ICollectionFixture<RedisFixture>
{
    public const string Name = "ClickHouse";
}
