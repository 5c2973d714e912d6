using System.Diagnostics.CodeAnalysis;
using Platform.Ingest.Events;
using Platform.Ingest.Storage;
using Platform.Ingest.Storage.DuckDb;
using static Platform.Tests.Storage.TestEvents;

namespace Platform.Tests.Storage;

/// <summary>The merge rules users rely on: per trait, the latest (timestamp, event id) wins; null clears.</summary>
[SuppressMessage("Reliability", "CA1001:Types that own disposable fields should be disposable", Justification = "xunit disposes test classes through IAsyncLifetime.")]
public sealed class DuckDbCurrentTraitsTests : IAsyncLifetime
{
    private readonly TempDuckDb _db = new();
    private DuckDbEventStore _store = null!;

    public async Task InitializeAsync() => _store = await _db.OpenStoreAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task The_latest_timestamp_wins()
    {
        await InsertEach(
            Event(1, micros: At(0), traits: Trait("plan", "\"free\"")),
            Event(2, micros: At(10), traits: Trait("plan", "\"pro\"")));

        Assert.Equal(Traits(("plan", "\"pro\"")), await Current());
    }

    [Fact]
    public async Task A_late_event_does_not_overwrite_a_newer_value()
    {
        await InsertEach(
            Event(1, micros: At(10), traits: Trait("plan", "\"pro\"")),
            Event(2, micros: At(0), traits: Trait("plan", "\"free\"")));

        Assert.Equal(Traits(("plan", "\"pro\"")), await Current());
    }

    [Fact]
    public async Task A_late_event_within_one_call_does_not_overwrite_a_newer_value()
    {
        await _store.InsertAsync(
            [Batch("t1", Event(1, micros: At(10), traits: Trait("plan", "\"pro\"")), Event(2, micros: At(0), traits: Trait("plan", "\"free\"")))],
            CancellationToken.None);

        Assert.Equal(Traits(("plan", "\"pro\"")), await Current());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_tie_on_timestamp_goes_to_the_greater_event_id_whatever_the_arrival_order(bool greaterFirst)
    {
        var smaller = Event(0x0a, micros: At(0), traits: Trait("plan", "\"from-smaller-id\""));
        var greater = Event(0xb0, micros: At(0), traits: Trait("plan", "\"from-greater-id\""));

        await InsertEach(greaterFirst ? [greater, smaller] : [smaller, greater]);

        Assert.Equal(Traits(("plan", "\"from-greater-id\"")), await Current());
    }

    [Fact]
    public async Task Timestamps_are_compared_to_the_microsecond()
    {
        await InsertEach(
            Event(2, micros: BaseMicros + 1, traits: Trait("plan", "\"later-by-1us\"")),
            Event(1, micros: BaseMicros, traits: Trait("plan", "\"earlier\"")));

        Assert.Equal(Traits(("plan", "\"later-by-1us\"")), await Current());
    }

    [Fact]
    public async Task Null_clears_a_trait_that_had_values()
    {
        await InsertEach(
            Event(1, micros: At(0), traits: [Trait("plan", "\"free\""), Trait("seats", "3")]),
            Event(2, micros: At(5), traits: Trait("plan", "\"pro\"")),
            Event(3, micros: At(10), traits: Trait("plan", null)));

        Assert.Equal(Traits(("seats", "3")), await Current());
    }

    [Fact]
    public async Task An_older_clear_does_not_hide_a_newer_value()
    {
        await InsertEach(
            Event(1, micros: At(10), traits: Trait("plan", "\"pro\"")),
            Event(2, micros: At(0), traits: Trait("plan", null)));

        Assert.Equal(Traits(("plan", "\"pro\"")), await Current());
    }

    [Fact]
    public async Task Omitted_traits_keep_their_values()
    {
        await InsertEach(
            Event(1, micros: At(0), traits: [Trait("name", "\"Acme\""), Trait("plan", "\"free\"")]),
            Event(2, micros: At(10), traits: Trait("plan", "\"pro\"")),
            Event(3, micros: At(20)));

        Assert.Equal(Traits(("name", "\"Acme\""), ("plan", "\"pro\"")), await Current());
    }

    [Fact]
    public async Task A_clear_followed_by_a_later_set_shows_the_new_value()
    {
        await InsertEach(
            Event(1, micros: At(0), traits: Trait("plan", "\"free\"")),
            Event(2, micros: At(10), traits: Trait("plan", null)),
            Event(3, micros: At(20), traits: Trait("plan", "\"enterprise\"")));

        Assert.Equal(Traits(("plan", "\"enterprise\"")), await Current());
    }

    [Fact]
    public async Task Values_are_returned_as_stored_json_of_any_type()
    {
        await InsertEach(Event(1, traits: [Trait("a", "[\"x\",\"y\"]"), Trait("b", "{\"k\":1}"), Trait("c", "true"), Trait("d", "1.5"), Trait("e", "\"\"")]));

        Assert.Equal(Traits(("a", "[\"x\",\"y\"]"), ("b", "{\"k\":1}"), ("c", "true"), ("d", "1.5"), ("e", "\"\"")), await Current());
    }

    [Fact]
    public async Task Groups_do_not_share_traits()
    {
        await InsertEach(
            Event(1, "acme", traits: Trait("plan", "\"pro\"")),
            Event(2, "globex", traits: Trait("seats", "9")));

        Assert.Equal(Traits(("plan", "\"pro\"")), await Current("acme"));
        Assert.Equal(Traits(("seats", "9")), await Current("globex"));
    }

    [Fact]
    public async Task An_unknown_group_has_no_traits()
    {
        await InsertEach(Event(1, "acme", traits: Trait("plan", "\"pro\"")));

        Assert.Empty(await Current("nobody"));
    }

    private async Task InsertEach(params GroupEvent[] events)
    {
        foreach (var groupEvent in events)
        {
            await _store.InsertAsync([Batch("t1", groupEvent)], CancellationToken.None);
        }
    }

    private Task<IReadOnlyDictionary<string, string>> Current(string groupId = "acme") =>
        _store.GetCurrentTraitsAsync("t1", groupId, CancellationToken.None);

    private static Dictionary<string, string> Traits(params (string Key, string Json)[] traits) =>
        traits.ToDictionary(t => t.Key, t => t.Json);
}
