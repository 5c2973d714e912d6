using System.Buffers;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Ingest.Events;
using Platform.Ingest.Log;
using Platform.Ingest.Storage.ClickHouse;
using Platform.Tests.Servers;
using static Platform.Tests.Storage.TestEvents;

namespace Platform.Tests.Storage.ClickHouse;

/// <summary>
/// The merge the store asks for after a state flush (ClickHouseEventStore.StateMerges.cs), against a real
/// clickhouse-server: flushes about the size of the table are merged; a small flush beside a large table is not; the
/// option turns it off; current values are the same either way.
/// </summary>
[Collection(ClickHouseServerGroup.Name)]
public sealed class ClickHouseStateMergeTests(ClickHouseFixture fixture)
{
    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 3)]
    public async Task Flushes_that_rewrite_most_states_leave_one_part_unless_turned_off(bool merge, long partsAfter)
    {
        var (store, database) = await NewStoreAsync(merge);
        using (store)
        {
            // Three flushes, each changing every state of the tenant's two groups: three parts of the same size.
            for (var flush = 1; flush <= 3; flush++)
            {
                await ShipAsync(store,
                    Event(flush, "g1", micros: At(flush), traits: [Trait("plan", $"\"p{flush}\""), Trait("seats", $"{flush}")]),
                    Event(100 + flush, "g2", micros: At(flush), traits: [Trait("plan", $"\"q{flush}\""), Trait("seats", null)]));
            }

            Assert.Equal(partsAfter, await StatePartsAsync(database));
            Assert.Equal(new Dictionary<string, string> { ["plan"] = "\"p3\"", ["seats"] = "3" }, await store.GetCurrentTraitsAsync("t1", "g1", default));
            Assert.Equal(new Dictionary<string, string> { ["plan"] = "\"q3\"" }, await store.GetCurrentTraitsAsync("t1", "g2", default));
        }
    }

    [Fact]
    public async Task Small_flushes_beside_a_large_table_are_left_to_clickhouse()
    {
        var (store, database) = await NewStoreAsync(merge: true);
        using (store)
        {
            // 40 groups' states, then two flushes of one group each: the largest part is 40 times a flush.
            await ShipAsync(store, [.. Enumerable.Range(0, 40).Select(g => Event(1000 + g, $"g{g}", micros: At(1), traits: [Trait("plan", "\"a\"")]))]);
            await ShipAsync(store, Event(2, "g1", micros: At(2), traits: [Trait("plan", "\"b\"")]));
            await ShipAsync(store, Event(3, "g1", micros: At(3), traits: [Trait("plan", "\"c\"")]));

            Assert.Equal(3, await StatePartsAsync(database));
            Assert.Equal("\"c\"", (await store.GetCurrentTraitsAsync("t1", "g1", default))["plan"]);
        }
    }

    private async Task<(ClickHouseEventStore Store, string Database)> NewStoreAsync(bool merge)
    {
        var database = ClickHouseFixture.NewDatabase();
        var store = new ClickHouseEventStore(
            new ClickHouseOptions { ConnectionString = fixture.Server.ConnectionString, Database = database, MergeStates = merge },
            NullLogger<ClickHouseEventStore>.Instance);
        await store.InitializeAsync(default);
        return (store, database);
    }

    /// <summary>As the shipper does it: a block from the log's encoding, its insert, then the state flush (and any merge it asks for).</summary>
    private static async Task ShipAsync(ClickHouseEventStore store, params GroupEvent[] events)
    {
        var buffer = new ArrayBufferWriter<byte>();
        IngestBatchCodec.Encode(Batch("t1", events), buffer);
        using var block = store.NewBlock(events.Length);
        Assert.Equal(events.Length, block.Add(buffer.WrittenSpan));
        await store.InsertAsync(block, default);
        await store.FlushStatesAsync(default);
        await store.StateMerge;
    }

    private Task<long> StatePartsAsync(string database) => fixture.Server.ScalarAsync(
        $"SELECT count() FROM system.parts WHERE database = '{database}' AND table = 'trait_states' AND active");
}
