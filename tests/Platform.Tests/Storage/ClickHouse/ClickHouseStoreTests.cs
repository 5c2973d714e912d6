using Microsoft.Extensions.Logging.Abstractions;
using Platform.Ingest.Query;
using Platform.Ingest.Storage.ClickHouse;
using Platform.Tests.Servers;
using static Platform.Tests.Storage.TestEvents;

namespace Platform.Tests.Storage.ClickHouse;

/// <summary>The ClickHouse store against a real clickhouse-server: idempotency, the merge rules, tenant isolation, migrations.</summary>
[Collection(ClickHouseServerGroup.Name)]
public sealed class ClickHouseStoreTests(ClickHouseFixture fixture) : IAsyncLifetime, IDisposable
{
    private readonly ClickHouseOptions _options = new()
    {
        ConnectionString = fixture.Server.ConnectionString,
        Database = ClickHouseFixture.NewDatabase(),
    };

    private ClickHouseEventStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new ClickHouseEventStore(_options, NullLogger<ClickHouseEventStore>.Instance);
        await _store.InitializeAsync(CancellationToken.None);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task Stores_events_trait_rows_and_memberships()
    {
        await _store.InsertAsync([Batch("t1", Event(1, "acme", "alice", traits: [Trait("plan", "\"pro\""), Trait("seats", "5")]))], default);

        Assert.Equal(new(1, 2, 1), await _store.CountAsync("t1", default));
        Assert.Equal(new Dictionary<string, string> { ["plan"] = "\"pro\"", ["seats"] = "5" }, await _store.GetCurrentTraitsAsync("t1", "acme", default));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_column_reads_back_exactly_as_written_compressed_or_not(bool compress)
    {
        using var store = new ClickHouseEventStore(
            new ClickHouseOptions { ConnectionString = _options.ConnectionString, Database = _options.Database, CompressInserts = compress },
            NullLogger<ClickHouseEventStore>.Instance);
        // Lengths around the varint steps of RowBinary strings (127/128 and 16383/16384 bytes), NULL and non-NULL
        // nullable columns, multi-byte UTF-8 and a cleared trait.
        var short127 = "\"" + new string('a', 125) + "\"";
        var long16384 = "\"" + new string('é', 8191) + "\"";
        await store.InsertAsync([Batch("t1",
            Event(1, groupId: "grüße/%?", userId: new string('u', 128), messageId: null, contextJson: null,
                traits: [Trait("short", short127), Trait("long", long16384), Trait("gone", null)]),
            Event(2, groupId: "g2", messageId: "m-2", contextJson: """{"ip":"1.2.3.4"}""", traits: [Trait("n", "16383")]))], default);

        Assert.Equal(new(2, 4, 2), await store.CountAsync("t1", default));
        var traits = await store.GetCurrentTraitsAsync("t1", "grüße/%?", default);
        Assert.Equal(new Dictionary<string, string> { ["short"] = short127, ["long"] = long16384 }, traits);
        var members = await store.GetGroupUsersAsync("t1", "grüße/%?", null, 10, default);
        Assert.Equal(new string('u', 128), Assert.Single(members).Id);
        var history = await store.GetTraitHistoryAsync("t1", "g2", "n", null, 10, default);
        Assert.Equal("16383", Assert.Single(history).ValueJson);
    }

    [Fact]
    public async Task Storing_the_same_events_again_never_counts_them_twice()
    {
        var batch = Batch("t1",
            Event(1, traits: [Trait("group_type", "\"Account\""), Trait("plan", "\"pro\"")]),
            Event(2, userId: "bob", traits: [Trait("group_type", "\"Account\""), Trait("plan", "\"pro\"")]));

        await _store.InsertAsync([batch], default);
        await _store.InsertAsync([batch], default);
        await _store.InsertAsync([batch, batch], default);

        Assert.Equal(new(2, 4, 2), await _store.CountAsync("t1", default));
        var profile = await _store.GetGroupAsync("t1", "acme", default);
        Assert.Equal(2, profile!.MemberCount);
        var history = await _store.GetTraitHistoryAsync("t1", "acme", "plan", null, 10, default);
        Assert.Equal(2, history.Count);
        var counts = await _store.CountGroupsByTraitAsync("t1", "plan", [], 10, default);
        Assert.Equal(1, Assert.Single(counts.Top).Groups);
    }

    [Fact]
    public async Task The_same_event_stored_twice_and_not_yet_merged_is_counted_once_in_listings_counts_and_memberships()
    {
        // Merges stopped: both copies stay in separate parts of every table, as after a replay of the log.
        foreach (var table in new[] { "events", "trait_states", "user_groups" })
        {
            await SqlAsync($"SYSTEM STOP MERGES {_options.Database}.{table}");
        }

        var batch = Batch("t1",
            Event(1, micros: At(1), traits: [Trait("group_type", "\"Account\""), Trait("plan", "\"pro\"")]),
            Event(2, userId: "bob", micros: At(2), traits: [Trait("plan", null), Trait("seats", "3")]));
        await _store.InsertAsync([batch], default);
        await _store.InsertAsync([batch], default);

        Assert.Equal("4", await SqlAsync($"SELECT count() FROM {_options.Database}.events"));
        Assert.Equal(new(2, 4, 2), await _store.CountAsync("t1", default));
        var profile = await _store.GetGroupAsync("t1", "acme", default);
        Assert.Equal(2, profile!.MemberCount);
        Assert.Equal(new Dictionary<string, string> { ["group_type"] = "\"Account\"", ["seats"] = "3" }, profile.Traits);
        Assert.Equal(["alice", "bob"], (await _store.GetGroupUsersAsync("t1", "acme", null, 10, default)).Select(m => m.Id));
        Assert.Equal([new MembershipRow("acme", At(2), At(2))], await _store.GetUserGroupsAsync("t1", "bob", null, 10, default));
        var listed = Assert.Single(await _store.FindGroupsAsync("t1", [new TraitFilter("seats", FilterOperator.GreaterOrEqual, [], 3)], null, 10, default));
        Assert.Equal("acme", listed.GroupId);
        var counts = await _store.CountGroupsByTraitAsync("t1", "seats", [], 10, default);
        Assert.Equal(new TraitBucket("3", 1), Assert.Single(counts.Top));
        Assert.Equal(0, counts.Missing);
        Assert.Equal(2, (await _store.GetTraitHistoryAsync("t1", "acme", "plan", null, 10, default)).Count);
    }

    /// <summary>
    /// The body stops inside the last row (its last column is 8 bytes), so every earlier row arrived complete; the
    /// server parses the block whole before writing it, so none of them is visible, in events nor in the views' tables.
    /// </summary>
    [Theory]
    [InlineData(3)]
    [InlineData(20_000)]
    public async Task An_insert_cut_off_mid_body_leaves_nothing_visible_anywhere(int events)
    {
        var batch = Batch("t1", [.. Enumerable.Range(1, events).Select(i =>
            Event(i, groupId: $"g{i % 50}", userId: $"u{i}", traits: [Trait("group_type", "\"Account\""), Trait("plan", "\"pro\"")]))]);
        using var rows = ClickHouseEventStore.WriteRows([batch]);
        var body = rows.WrittenSpan[..(rows.Length - 3)].ToArray();

        // What a connection lost mid-request delivers: the start of the one insert's body.
        using var http = new HttpClient();
        using var content = new ByteArrayContent(body);
        var sql = $"INSERT INTO {_options.Database}.events ({string.Join(", ", ClickHouseEventStore.EventColumns)}) FORMAT RowBinary";
        using var response = await http.PostAsync(fixture.Server.Url(sql), content);

        Assert.False(response.IsSuccessStatusCode);
        Assert.Equal(new(0, 0, 0), await _store.CountAsync("t1", default));
        Assert.Equal("0", await SqlAsync($"SELECT count() FROM {_options.Database}.trait_states"));
        Assert.Empty(await _store.FindGroupsAsync("t1", [], null, 10, default));
        Assert.Empty(await _store.GetUserGroupsAsync("t1", "u1", null, 10, default));
    }

    [Fact]
    public async Task Within_one_call_the_first_occurrence_of_an_event_wins()
    {
        await _store.InsertAsync([Batch("t1", Event(1, traits: [Trait("plan", "\"first\"")]), Event(1, traits: [Trait("plan", "\"second\"")]))], default);

        Assert.Equal("\"first\"", (await _store.GetCurrentTraitsAsync("t1", "acme", default))["plan"]);
        Assert.Equal(1, (await _store.CountAsync("t1", default)).Events);
    }

    [Fact]
    public async Task The_latest_timestamp_wins_and_a_late_event_never_overwrites_it()
    {
        await _store.InsertAsync([Batch("t1", Event(2, micros: At(10), traits: [Trait("plan", "\"new\"")]))], default);
        await _store.InsertAsync([Batch("t1", Event(1, micros: At(5), traits: [Trait("plan", "\"old\""), Trait("region", "\"eu\"")]))], default);

        Assert.Equal(
            new Dictionary<string, string> { ["plan"] = "\"new\"", ["region"] = "\"eu\"" },
            await _store.GetCurrentTraitsAsync("t1", "acme", default));
    }

    /// <summary>
    /// The current state is the latest change per key collapsed in ingest and again in storage (trait_changes): it must be
    /// what argMax over every stored event gives, whatever the order, the ties, the clears and the repeats, and however
    /// the events are split between inserts.
    /// </summary>
    [Fact]
    public async Task The_current_state_is_the_argmax_of_every_stored_event_however_the_events_are_split()
    {
        var random = new Random(512);
        var events = Enumerable.Range(1, 600).Select(i => Event(
            random.Next(1, 400),
            groupId: $"g{random.Next(8)}",
            micros: At(random.Next(5)),
            traits: [.. new[] { "plan", "seats", "region" }.Where(_ => random.Next(3) > 0)
                .Select(key => Trait(key, random.Next(4) == 0 ? null : $"\"{key}-{random.Next(3)}\""))])).ToList();
        for (var at = 0; at < events.Count;)
        {
            var take = Math.Min(random.Next(1, 120), events.Count - at);
            await _store.InsertAsync([Batch(random.Next(2) == 0 ? "t1" : "t2", [.. events.Skip(at).Take(take)])], default);
            at += take;
        }

        var db = _options.Database;
        var fromStates = await SqlAsync($"""
            SELECT tenant, group_id, trait_key, argMaxMerge(state) AS v FROM {db}.trait_states
            GROUP BY tenant, group_id, trait_key ORDER BY tenant, group_id, trait_key FORMAT TSV
            """);
        var fromEvents = await SqlAsync($"""
            SELECT tenant, group_id, trait_key, argMax(trait_value, {ClickHouseSchema.VersionText}) AS v FROM {db}.events
            ARRAY JOIN trait_keys AS trait_key, trait_values AS trait_value
            GROUP BY tenant, group_id, trait_key ORDER BY tenant, group_id, trait_key FORMAT TSV
            """);

        Assert.True(fromEvents.Split('\n').Length > 30, fromEvents);
        Assert.Equal(fromEvents, fromStates);
    }

    [Fact]
    public async Task A_tie_on_timestamp_goes_to_the_greater_event_id()
    {
        await _store.InsertAsync([Batch("t1", Event(9, micros: At(1), traits: [Trait("plan", "\"nine\"")]), Event(3, micros: At(1), traits: [Trait("plan", "\"three\"")]))], default);

        Assert.Equal("\"nine\"", (await _store.GetCurrentTraitsAsync("t1", "acme", default))["plan"]);
    }

    [Fact]
    public async Task A_clear_hides_every_older_value_and_a_later_value_brings_the_trait_back()
    {
        await _store.InsertAsync([Batch("t1", Event(1, micros: At(1), traits: [Trait("plan", "\"pro\"")]), Event(2, micros: At(2), traits: [Trait("plan", null)]))], default);
        Assert.Empty(await _store.GetCurrentTraitsAsync("t1", "acme", default));
        var history = await _store.GetTraitHistoryAsync("t1", "acme", "plan", null, 10, default);
        Assert.Equal([new TraitChange("\"pro\"", At(1), Id(1)), new TraitChange(null, At(2), Id(2))], history);

        await _store.InsertAsync([Batch("t1", Event(3, micros: At(3), traits: [Trait("plan", "\"basic\"")]))], default);
        Assert.Equal("\"basic\"", (await _store.GetCurrentTraitsAsync("t1", "acme", default))["plan"]);
    }

    [Fact]
    public async Task Memberships_keep_the_earliest_and_latest_event_time_whatever_the_order()
    {
        await _store.InsertAsync([Batch("t1", Event(1, micros: At(50)))], default);
        await _store.InsertAsync([Batch("t1", Event(2, micros: At(10)), Event(3, micros: At(90)))], default);

        var users = await _store.GetGroupUsersAsync("t1", "acme", null, 10, default);
        Assert.Equal([new MembershipRow("alice", At(10), At(90))], users);
        var groups = await _store.GetUserGroupsAsync("t1", "alice", null, 10, default);
        Assert.Equal([new MembershipRow("acme", At(10), At(90))], groups);
    }

    [Fact]
    public async Task Tenants_never_see_each_others_rows()
    {
        await _store.InsertAsync([Batch("t1", Event(1, traits: [Trait("plan", "\"one\"")])), Batch("t2", Event(1, traits: [Trait("plan", "\"two\"")]))], default);

        Assert.Equal("\"one\"", (await _store.GetCurrentTraitsAsync("t1", "acme", default))["plan"]);
        Assert.Equal("\"two\"", (await _store.GetCurrentTraitsAsync("t2", "acme", default))["plan"]);
        Assert.Equal(1, (await _store.CountAsync("t1", default)).Events);
        Assert.Null(await _store.GetGroupAsync("t3", "acme", default));
        Assert.Empty(await _store.FindGroupsAsync("t3", [], null, 10, default));
    }

    [Theory]
    [InlineData("it's")]
    [InlineData("back\\slash")]
    [InlineData("x' OR 1=1 --")]
    [InlineData("x\\' OR tenant != '")]
    [InlineData("line\nbreak\ttab\0nul\u0001")]
    [InlineData("ünïcødé ✓ 😀")]
    public async Task Hostile_ids_keys_and_values_round_trip_and_stay_inside_their_tenant(string text)
    {
        var value = System.Text.Json.JsonSerializer.Serialize(text);
        await _store.InsertAsync([Batch("t1", Event(1, groupId: text, userId: text, traits: [Trait("group_type", "\"Account\""), Trait(text, value)]))], default);
        await _store.InsertAsync([Batch("other", Event(1, groupId: text, userId: text, traits: [Trait("group_type", "\"Account\""), Trait(text, "\"other\"")]))], default);

        var profile = await _store.GetGroupAsync("t1", text, default);
        Assert.Equal(value, profile!.Traits[text]);
        Assert.Equal(1, profile.MemberCount);
        Assert.Equal(text, Assert.Single(await _store.GetUserGroupsAsync("t1", text, null, 10, default)).Id);
        var found = await _store.FindGroupsAsync("t1", [new TraitFilter(text, FilterOperator.Equals, [value])], null, 10, default);
        Assert.Equal(text, Assert.Single(found).GroupId);
        var prefix = await _store.FindGroupsAsync("t1", [new TraitFilter(text, FilterOperator.Prefix, [value[..^1]])], null, 10, default);
        Assert.Single(prefix);
        var counts = await _store.CountGroupsByTraitAsync("t1", text, [], 10, default);
        Assert.Equal(new TraitBucket(value, 1), Assert.Single(counts.Top));
        Assert.Single(await _store.GetTraitHistoryAsync("t1", text, text, new HistoryPosition(0, text), 10, default));
    }

    [Fact]
    public async Task The_server_reads_every_escaped_literal_back_as_the_original_text()
    {
        var texts = Enumerable.Range(0, 128).Select(i => $"<{(char)i}>").Append("'\\''\\\\'").Append("ünï 😀").ToArray();
        var select = string.Join(" UNION ALL ", texts.Select((t, i) => $"SELECT {i} AS n, {ClickHouseSql.String(t)} AS s"));
        using var http = new HttpClient();
        using var content = new StringContent($"SELECT n, s FROM ({select}) ORDER BY n FORMAT JSONEachRow");
        using var response = await http.PostAsync(fixture.Server.Url(), content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);

        var read = body.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("s").GetString())
            .ToArray();
        Assert.Equal(texts, read);
    }

    [Fact]
    public async Task Starting_again_applies_no_migration_twice()
    {
        using var again = new ClickHouseEventStore(_options, NullLogger<ClickHouseEventStore>.Instance);
        await again.InitializeAsync(default);
        await _store.InsertAsync([Batch("t1", Event(1))], default);

        Assert.Equal(1, (await again.CountAsync("t1", default)).Events);
    }

    [Fact]
    public async Task A_database_with_a_newer_schema_refuses_to_start()
    {
        using var http = new HttpClient();
        using var content = new StringContent($"INSERT INTO {_options.Database}.schema_migrations VALUES (999, 'future', now())");
        using var response = await http.PostAsync(fixture.Server.Url(), content);
        response.EnsureSuccessStatusCode();

        using var again = new ClickHouseEventStore(_options, NullLogger<ClickHouseEventStore>.Instance);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => again.InitializeAsync(default));
        Assert.Contains("999", error.Message, StringComparison.Ordinal);
    }

    private async Task<string> SqlAsync(string sql)
    {
        using var http = new HttpClient();
        using var content = new StringContent(sql);
        using var response = await http.PostAsync(fixture.Server.Url(), content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return body.Trim();
    }

    [Fact]
    public async Task Reports_healthy_while_the_server_answers()
    {
        Assert.True(await _store.IsHealthyAsync(default));
    }
}
