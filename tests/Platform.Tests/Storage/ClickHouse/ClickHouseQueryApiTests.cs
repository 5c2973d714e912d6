using Platform.Tests.Integration;
using Platform.Tests.Query;
using Platform.Tests.Servers;

namespace Platform.Tests.Storage.ClickHouse;

/// <summary>The whole query API contract, on ClickHouse.</summary>
[Collection(ClickHouseServerGroup.Name)]
public sealed class ClickHouseQueryApiTests(ClickHouseFixture fixture) : QueryApiContract
{
    // A field initializer runs before the base constructor, which calls CreateHost.
    private readonly ClickHouseFixture _fixture = fixture;

    internal override IngestHost CreateHost() => ClickHouseHosts.Create(_fixture.Server);
}

/// <summary>The end-to-end merge property (random order, random retries), on ClickHouse.</summary>
[Collection(ClickHouseServerGroup.Name)]
public sealed class ClickHouseMergePropertyTests(ClickHouseFixture fixture) : MergePropertyTests
{
    internal override IngestHost CreateHost() => ClickHouseHosts.Create(fixture.Server);
}

internal static class ClickHouseHosts
{
    public static IngestHost Create(ClickHouseEndpoint server, IDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Backend"] = "ClickHouse",
            ["Storage:ClickHouse:ConnectionString"] = server.ConnectionString,
            ["Storage:ClickHouse:Database"] = ClickHouseFixture.NewDatabase(),
            ["Storage:ClickHouse:Timeout"] = "00:00:05",
            // These tests read what they just wrote: a 200 waits until the shipper has stored it.
            ["Writer:Ack"] = "Queryable",
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return new IngestHost(settings);
    }
}
