using System.Diagnostics.CodeAnalysis;
using Platform.Ingest.Storage;
using Platform.Ingest.Storage.DuckDb;
using static Platform.Tests.Storage.TestEvents;

namespace Platform.Tests.Storage;

[SuppressMessage("Reliability", "CA1001:Types that own disposable fields should be disposable", Justification = "xunit disposes test classes through IAsyncLifetime.")]
public sealed class DuckDbInsertTests : IAsyncLifetime
{
    private readonly TempDuckDb _db = new();
    private DuckDbEventStore _store = null!;

    public async Task InitializeAsync() => _store = await _db.OpenStoreAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Stores_the_raw_event_with_microsecond_times()
    {
        var groupEvent = Event(1, "acme", "alice", micros: At(0), messageId: "m-1", contextJson: "{\"ip\":\"10.0.0.1\"}",
            traits: [Trait("name", "\"Acme\""), Trait("employees", "42")]);

        await _store.InsertAsync([Batch("t1", groupEvent)], CancellationToken.None);

        var row = Assert.Single(_db.Query("""
            SELECT tenant, event_id, message_id, group_id, user_id, epoch_us(event_time), group_type,
                   traits_json, context_json, epoch_us(received_at)
            FROM events
            """));
        Assert.Equal(
            ["t1", Id(1), "m-1", "acme", "alice", At(0), "company", "{\"employees\":42,\"name\":\"Acme\"}", "{\"ip\":\"10.0.0.1\"}", ReceivedMicros],
            row);
    }

    [Fact]
    public async Task Stores_null_message_id_and_context_as_null()
    {
        await _store.InsertAsync([Batch("t1", Event(1))], CancellationToken.None);

        var row = Assert.Single(_db.Query("SELECT message_id, context_json FROM events"));
        Assert.Equal([null, null], row);
    }

    [Fact]
    public async Task Stores_one_trait_row_per_trait_with_cleared_values_as_empty_strings()
    {
        var groupEvent = Event(1, "acme", micros: At(5), traits: [Trait("plan", "\"pro\""), Trait("tags", "[\"a\",\"b\"]"), Trait("industry", null)]);

        await _store.InsertAsync([Batch("t1", groupEvent)], CancellationToken.None);

        var rows = _db.Query("""
            SELECT tenant, group_id, trait_key, epoch_us(event_time), event_id, value_json, cleared
            FROM group_traits ORDER BY trait_key
            """);
        Assert.Equal(
            [
                ["t1", "acme", "industry", At(5), Id(1), "", true],
                ["t1", "acme", "plan", At(5), Id(1), "\"pro\"", false],
                ["t1", "acme", "tags", At(5), Id(1), "[\"a\",\"b\"]", false],
            ],
            rows);
        Assert.Equal(new StoredCounts(1, 3, 1), await _store.CountAsync("t1", CancellationToken.None));
    }

    [Fact]
    public async Task Events_stored_by_an_earlier_call_are_not_stored_again()
    {
        var batch = Batch("t1", Event(1, traits: Trait("plan", "\"pro\"")), Event(2, traits: Trait("plan", "\"free\"")));

        await _store.InsertAsync([batch], CancellationToken.None);
        await _store.InsertAsync([batch], CancellationToken.None);

        Assert.Equal(new StoredCounts(2, 2, 1), await _store.CountAsync("t1", CancellationToken.None));
    }

    [Fact]
    public async Task An_event_repeated_within_one_batch_is_stored_once()
    {
        var groupEvent = Event(1, traits: [Trait("plan", "\"pro\""), Trait("seats", "5")]);

        await _store.InsertAsync([Batch("t1", groupEvent, groupEvent)], CancellationToken.None);

        Assert.Equal(new StoredCounts(1, 2, 1), await _store.CountAsync("t1", CancellationToken.None));
    }

    [Fact]
    public async Task An_event_repeated_across_batches_of_one_call_is_stored_once()
    {
        var groupEvent = Event(1, traits: [Trait("plan", "\"pro\""), Trait("seats", "5")]);

        await _store.InsertAsync([Batch("t1", groupEvent), Batch("t1", Event(2)), Batch("t1", groupEvent)], CancellationToken.None);

        Assert.Equal(new StoredCounts(2, 2, 1), await _store.CountAsync("t1", CancellationToken.None));
    }

    [Fact]
    public async Task Within_one_call_the_first_of_two_events_sharing_an_id_is_the_one_stored()
    {
        var first = Event(1, "acme", "alice", At(0), "m-1", traits: Trait("plan", "\"pro\""));
        var second = Event(1, "globex", "bob", At(60), "m-1", traits: Trait("plan", "\"free\""));

        await _store.InsertAsync([Batch("t1", first), Batch("t1", second)], CancellationToken.None);

        Assert.Equal(new StoredCounts(1, 1, 1), await _store.CountAsync("t1", CancellationToken.None));
        Assert.Equal(["acme", "alice"], Assert.Single(_db.Query("SELECT group_id, user_id FROM events")));
        Assert.Equal(new Dictionary<string, string> { ["plan"] = "\"pro\"" }, await _store.GetCurrentTraitsAsync("t1", "acme", CancellationToken.None));
    }

    [Fact]
    public async Task A_duplicate_event_id_carrying_other_content_changes_nothing()
    {
        // Same message_id retried with different content: the first stored version is the event.
        await _store.InsertAsync([Batch("t1", Event(1, "acme", "alice", At(0), "m-1", traits: Trait("plan", "\"pro\"")))], CancellationToken.None);

        await _store.InsertAsync([Batch("t1", Event(1, "globex", "bob", At(60), "m-1", traits: Trait("plan", "\"free\"")))], CancellationToken.None);

        Assert.Equal(new StoredCounts(1, 1, 1), await _store.CountAsync("t1", CancellationToken.None));
        Assert.Equal(["acme", "alice"], Assert.Single(_db.Query("SELECT group_id, user_id FROM memberships")));
        Assert.Empty(await _store.GetCurrentTraitsAsync("t1", "globex", CancellationToken.None));
    }

    [Fact]
    public async Task Membership_first_and_last_seen_span_out_of_order_events_across_calls()
    {
        await _store.InsertAsync([Batch("t1", Event(1, "acme", "alice", At(100)))], CancellationToken.None);
        await _store.InsertAsync([Batch("t1", Event(2, "acme", "alice", At(50)), Event(3, "acme", "alice", At(70)))], CancellationToken.None);
        await _store.InsertAsync([Batch("t1", Event(4, "acme", "alice", At(200)), Event(5, "acme", "alice", At(150)))], CancellationToken.None);

        var row = Assert.Single(_db.Query("SELECT epoch_us(first_seen), epoch_us(last_seen) FROM memberships"));
        Assert.Equal([At(50), At(200)], row);
    }

    [Fact]
    public async Task Membership_first_and_last_seen_span_events_within_one_call()
    {
        await _store.InsertAsync(
            [Batch("t1", Event(1, "acme", "alice", At(100)), Event(2, "acme", "alice", At(-30))), Batch("t1", Event(3, "acme", "alice", At(40)))],
            CancellationToken.None);

        var row = Assert.Single(_db.Query("SELECT epoch_us(first_seen), epoch_us(last_seen) FROM memberships"));
        Assert.Equal([At(-30), At(100)], row);
    }

    [Fact]
    public async Task A_repeated_event_does_not_move_membership_times()
    {
        await _store.InsertAsync([Batch("t1", Event(1, "acme", "alice", At(10)), Event(2, "acme", "alice", At(20)))], CancellationToken.None);

        await _store.InsertAsync([Batch("t1", Event(2, "acme", "alice", At(20)))], CancellationToken.None);

        var row = Assert.Single(_db.Query("SELECT epoch_us(first_seen), epoch_us(last_seen) FROM memberships"));
        Assert.Equal([At(10), At(20)], row);
    }

    [Fact]
    public async Task Memberships_are_many_to_many()
    {
        await _store.InsertAsync(
            [Batch("t1", Event(1, "acme", "alice"), Event(2, "acme", "bob"), Event(3, "globex", "alice"), Event(4, "globex", "alice"))],
            CancellationToken.None);

        var pairs = _db.Query("SELECT group_id, user_id FROM memberships ORDER BY group_id, user_id");
        Assert.Equal([["acme", "alice"], ["acme", "bob"], ["globex", "alice"]], pairs);
    }

    [Fact]
    public async Task A_call_without_events_stores_nothing()
    {
        await _store.InsertAsync([], CancellationToken.None);
        await _store.InsertAsync([Batch("t1")], CancellationToken.None);

        Assert.Equal(new StoredCounts(0, 0, 0), await _store.CountAsync("t1", CancellationToken.None));
    }

    [Fact]
    public async Task Tenants_are_isolated_even_with_equal_event_and_group_ids()
    {
        await _store.InsertAsync([Batch("a", Event(1, "acme", "alice", At(0), traits: Trait("plan", "\"pro\"")))], CancellationToken.None);
        await _store.InsertAsync(
            [Batch("b", Event(1, "acme", "alice", At(10), traits: [Trait("plan", "\"free\""), Trait("seats", "3")]), Event(2, "acme", "bob", At(20)))],
            CancellationToken.None);

        Assert.Equal(new StoredCounts(1, 1, 1), await _store.CountAsync("a", CancellationToken.None));
        Assert.Equal(new StoredCounts(2, 2, 2), await _store.CountAsync("b", CancellationToken.None));
        Assert.Equal(new StoredCounts(0, 0, 0), await _store.CountAsync("c", CancellationToken.None));
        Assert.Equal(new Dictionary<string, string> { ["plan"] = "\"pro\"" }, await _store.GetCurrentTraitsAsync("a", "acme", CancellationToken.None));
        Assert.Equal(
            new Dictionary<string, string> { ["plan"] = "\"free\"", ["seats"] = "3" },
            await _store.GetCurrentTraitsAsync("b", "acme", CancellationToken.None));
    }

    [Fact]
    public async Task Data_survives_dispose_and_reopen()
    {
        await _store.InsertAsync([Batch("t1", Event(1, traits: Trait("plan", "\"pro\"")), Event(2, "globex", "bob"))], CancellationToken.None);
        await _store.DisposeAsync();

        await using var reopened = await _db.OpenStoreAsync();

        Assert.Equal(new StoredCounts(2, 1, 2), await reopened.CountAsync("t1", CancellationToken.None));
        Assert.Equal(new Dictionary<string, string> { ["plan"] = "\"pro\"" }, await reopened.GetCurrentTraitsAsync("t1", "acme", CancellationToken.None));
        await reopened.InsertAsync([Batch("t1", Event(1), Event(3))], CancellationToken.None);
        Assert.Equal(3, (await reopened.CountAsync("t1", CancellationToken.None)).Events);
    }

    [Fact]
    public async Task User_values_are_bound_as_parameters_not_spliced_into_sql()
    {
        const string Hostile = "x'); DROP TABLE events; --";

        await _store.InsertAsync([Batch(Hostile, Event(1, Hostile, Hostile, traits: Trait(Hostile, "\"" + Hostile + "\"")))], CancellationToken.None);

        Assert.Equal(new StoredCounts(1, 1, 1), await _store.CountAsync(Hostile, CancellationToken.None));
        Assert.Equal(
            new Dictionary<string, string> { [Hostile] = "\"" + Hostile + "\"" },
            await _store.GetCurrentTraitsAsync(Hostile, Hostile, CancellationToken.None));
    }
}
