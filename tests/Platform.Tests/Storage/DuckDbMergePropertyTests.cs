using System.Diagnostics.CodeAnalysis;
using CsCheck;
using Platform.Ingest.Events;
using Platform.Ingest.Storage;
using Platform.Ingest.Storage.DuckDb;
using static Platform.Tests.Storage.TestEvents;

namespace Platform.Tests.Storage;

/// <summary>
/// Whatever the arrival order, call boundaries and retries, the current profile equals the model:
/// per key, the event with the greatest (timestamp, event id) that mentions the key decides; null means absent.
/// </summary>
[SuppressMessage("Reliability", "CA1001:Types that own disposable fields should be disposable", Justification = "xunit disposes test classes through IAsyncLifetime.")]
public sealed class DuckDbMergePropertyTests : IAsyncLifetime
{
    private static readonly string[] Keys = ["a", "b", "c"];

    private readonly TempDuckDb _db = new();
    private DuckDbEventStore _store = null!;

    public async Task InitializeAsync() => _store = await _db.OpenStoreAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    /// <summary>One generated event: few time slots (many ties), each key omitted, cleared or set, a call to arrive in.</summary>
    private sealed record Arrival(int TimeSlot, int[] KeyStates, int Call, int OrderInCall, bool SentTwice);

    private static readonly Gen<Arrival> GenArrival =
        Gen.Select(Gen.Int[0, 3], Gen.Int[0, 2].Array[Keys.Length], Gen.Int[0, 3], Gen.Int, Gen.Int[0, 4])
            .Select((slot, states, call, order, twice) => new Arrival(slot, states, call, order, twice == 0));

    [Fact]
    public async Task The_current_profile_matches_the_model_whatever_the_arrival_order()
    {
        await GenArrival.Array[1, 12].SampleAsync(
            async arrivals =>
            {
                var tenant = "t-" + Guid.NewGuid().ToString("N");
                var events = arrivals.Select(ToEvent).ToArray();
                foreach (var call in Enumerable.Range(0, 4))
                {
                    var inCall = arrivals.Select((arrival, i) => (arrival, groupEvent: events[i]))
                        .Where(x => x.arrival.Call == call || (x.arrival.SentTwice && x.arrival.Call == 3 - call))
                        .OrderBy(x => x.arrival.OrderInCall)
                        .Select(x => x.groupEvent)
                        .ToArray();
                    await _store.InsertAsync([Batch(tenant, inCall)], CancellationToken.None);
                }

                Assert.Equal(Model(events), await _store.GetCurrentTraitsAsync(tenant, "acme", CancellationToken.None));
                var counts = await _store.CountAsync(tenant, CancellationToken.None);
                Assert.Equal(events.Length, counts.Events);
                Assert.Equal(events.Sum(e => e.Traits.Length), counts.TraitRows);
            },
            iter: 60,
            threads: 1);
    }

    private static GroupEvent ToEvent(Arrival arrival, int index)
    {
        // Ids distinct per event and not in index order, so ties on time are not decided by arrival.
        var id = index * 7919 % 1009;
        var traits = new List<TraitValue>();
        for (var k = 0; k < Keys.Length; k++)
        {
            switch (arrival.KeyStates[k])
            {
                case 1:
                    traits.Add(Trait(Keys[k], null));
                    break;
                case 2:
                    traits.Add(Trait(Keys[k], $"\"event-{id}\""));
                    break;
                default:
                    break;
            }
        }

        return Event(id, "acme", "alice", At(arrival.TimeSlot), traits: [.. traits]);
    }

    private static Dictionary<string, string> Model(GroupEvent[] events)
    {
        var profile = new Dictionary<string, string>();
        foreach (var key in Keys)
        {
            var latest = events
                .SelectMany(e => e.Traits.Where(t => t.Key == key).Select(t => (e.TimestampMicros, e.EventId, t.Json)))
                .OrderByDescending(x => x.TimestampMicros)
                .ThenByDescending(x => x.EventId, StringComparer.Ordinal)
                .FirstOrDefault();
            if (latest.Json is not null)
            {
                profile[key] = latest.Json;
            }
        }

        return profile;
    }
}
