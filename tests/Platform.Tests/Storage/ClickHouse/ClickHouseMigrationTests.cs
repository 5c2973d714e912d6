using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Ingest.Events;
using Platform.Ingest.Query;
using Platform.Ingest.Storage;
using Platform.Ingest.Storage.ClickHouse;
using Platform.Tests.Servers;
using static Platform.Tests.Storage.TestEvents;

namespace Platform.Tests.Storage.ClickHouse;

/// <summary>
/// Migrations 2 (one row per event, current_traits), 3 (the current state sorted by trait key) and 4 (the same in finer
/// granules) on databases holding
/// an older version's rows: the query API answers as a database that was on the latest version from the start, and
/// nothing is counted twice, whether the old tables held not-yet-merged duplicates or a copy ran twice. Each layout runs
/// it by deriving a class that says where the databases live: one server here, a cluster in
/// <see cref="Cluster.ClusterMigrationTests"/>.
/// </summary>
public abstract class ClickHouseMigrationContract
{
    /// <summary>The server the tests' own statements go to (the store's connection too).</summary>
    internal abstract ClickHouseEndpoint Server { get; }

    /// <summary>The store's settings for a new database.</summary>
    internal abstract ClickHouseOptions Options(string database);

    /// <summary>URL settings for the tests' own statements (on a cluster, the ones ingest sends).</summary>
    internal virtual string? StatementSettings => null;

    private static readonly string[] V1EventColumns =
        ["tenant", "event_id", "message_id", "group_id", "user_id", "event_us", "group_type", "traits_json", "context_json", "received_us"];

    private static readonly string[] V1TraitColumns = ["tenant", "group_id", "trait_key", "event_us", "event_id", "value_json", "cleared"];

    private static TraitValue Type => Trait("group_type", "\"Account\"");

    /// <summary>Two tenants, clears, ties on time, late events, several users and groups, a hostile key.</summary>
    private static readonly IngestBatch[] History =
    [
        Batch("t1",
            Event(1, micros: At(1), traits: [Type, Trait("plan", "\"pro\""), Trait("seats", "5")]),
            Event(2, userId: "bob", micros: At(2), traits: [Type, Trait("plan", null)]),
            Event(3, groupId: "beta", micros: At(1), traits: [Type, Trait("plan", "\"basic\""), Trait("it's", "[\"x\",\"y\"]")]),
            Event(9, groupId: "beta", userId: "carol", micros: At(3), traits: [Trait("plan", "\"nine\"")]),
            Event(8, groupId: "beta", userId: "carol", micros: At(3), traits: [Trait("plan", "\"eight\"")])),
        Batch("t1",
            Event(4, groupId: "gamma", micros: At(5), traits: [Type, Trait("plan", "\"pro\"")]),
            Event(5, groupId: "gamma", userId: "bob", micros: At(0), traits: [Trait("plan", "\"late\""), Trait("region", "\"eu\"")]),
            Event(6, micros: At(7), traits: [Trait("plan", "\"pro\"")])),
        Batch("t2", Event(1, micros: At(1), traits: [Type, Trait("plan", "\"other\"")])),
    ];

    [Fact]
    public async Task A_version_1_database_with_duplicates_answers_after_migration_as_a_fresh_one()
    {
        using var migrated = await StoreAtVersion1Async();
        await WriteVersion1RowsAsync(migrated.Layout.Database, History);
        await WriteVersion1RowsAsync(migrated.Layout.Database, [History[0]]); // duplicates, not yet merged
        await migrated.InitializeAsync(default);
        using var fresh = await FreshStoreAsync();
        await fresh.InsertAsync(History, default);

        Assert.Equal(new StoredCounts(8, 15, 6), await migrated.CountAsync("t1", default));
        Assert.Equal(await AnswersAsync(fresh), await AnswersAsync(migrated));
        Assert.Equal(1, await ScalarAsync($"SELECT count() FROM system.tables WHERE database = '{migrated.Layout.Database}' AND name = 'events_v1'"));
    }

    [Fact]
    public async Task Events_stored_again_after_the_migration_are_not_counted_twice()
    {
        using var migrated = await StoreAtVersion1Async();
        await WriteVersion1RowsAsync(migrated.Layout.Database, History);
        await migrated.InitializeAsync(default);
        var before = await AnswersAsync(migrated);

        // A replay of the log after the upgrade re-sends events the old layout already held.
        await migrated.InsertAsync(History, default);

        Assert.Equal(new StoredCounts(8, 15, 6), await migrated.CountAsync("t1", default));
        Assert.Equal(before, await AnswersAsync(migrated));
    }

    [Fact]
    public async Task A_copy_run_twice_after_a_crash_counts_nothing_twice()
    {
        using var migrated = await StoreAtVersion1Async();
        await WriteVersion1RowsAsync(migrated.Layout.Database, History);
        await migrated.InitializeAsync(default);
        var before = await AnswersAsync(migrated);
        var copy = ClickHouseSchema.Migrations[1].Steps(migrated.Layout).Last();
        Assert.StartsWith("INSERT INTO", copy.Sql, StringComparison.Ordinal);

        await ScalarAsync(copy.Sql, expectRows: false);

        Assert.Equal(new StoredCounts(8, 15, 6), await migrated.CountAsync("t1", default));
        Assert.Equal(before, await AnswersAsync(migrated));
    }

    [Fact]
    public async Task A_start_that_died_after_the_renames_completes_the_migration()
    {
        using var migrated = await StoreAtVersion1Async();
        await WriteVersion1RowsAsync(migrated.Layout.Database, History);
        var steps = ClickHouseSchema.Migrations[1].Steps(migrated.Layout).ToArray();
        foreach (var step in steps.TakeWhile(s => !s.Sql.StartsWith("CREATE", StringComparison.Ordinal)))
        {
            await ScalarAsync(step.Sql, expectRows: false);
        }

        await migrated.InitializeAsync(default);
        using var fresh = await FreshStoreAsync();
        await fresh.InsertAsync(History, default);

        Assert.Equal(await AnswersAsync(fresh), await AnswersAsync(migrated));
    }

    [Fact]
    public async Task A_version_2_database_with_duplicates_answers_after_migration_3_as_a_fresh_one()
    {
        using var migrated = await StoreAtVersionAsync(2);
        await migrated.InsertAsync(History, default);
        await migrated.InsertAsync([History[0]], default); // duplicates, not yet merged
        await migrated.InitializeAsync(default);
        using var fresh = await FreshStoreAsync();
        await fresh.InsertAsync(History, default);

        Assert.Equal(await AnswersAsync(fresh), await AnswersAsync(migrated));
        var tables = $"SELECT count() FROM system.tables WHERE database = '{migrated.Layout.Database}' AND name";
        Assert.Equal(0, await ScalarAsync($"{tables} IN ('current_traits', 'current_traits_mv', 'trait_states_mv')"));
        Assert.Equal(3, await ScalarAsync($"{tables} IN ('trait_states', 'trait_changes', 'trait_changes_mv')"));
    }

    [Fact]
    public async Task A_version_3_database_with_duplicates_answers_after_migration_4_as_a_fresh_one()
    {
        using var migrated = await StoreAtVersionAsync(3);
        await migrated.InsertAsync(History, default);
        await migrated.InsertAsync([History[0]], default); // duplicates, not yet merged
        await migrated.InitializeAsync(default);
        using var fresh = await FreshStoreAsync();
        await fresh.InsertAsync(History, default);

        Assert.Equal(await AnswersAsync(fresh), await AnswersAsync(migrated));
        var tables = $"SELECT count() FROM system.tables WHERE database = '{migrated.Layout.Database}' AND name";
        Assert.Equal(0, await ScalarAsync($"{tables} IN ('current_traits_by_key', 'current_traits_by_key_mv', 'trait_states_mv')"));
        Assert.Equal(3, await ScalarAsync($"{tables} IN ('trait_states', 'trait_changes', 'trait_changes_mv')"));
        Assert.Equal(1, await ScalarAsync($"{tables} IN ('trait_states', 'trait_states_local') AND engine_full LIKE '%index_granularity = 256%'"));
    }

    /// <summary>
    /// Version 4's states were fed by a view of every insert into events; after migration 5 the store sends its own
    /// changes. Half the history before (with duplicates), half after: the answers are a fresh database's.
    /// </summary>
    [Fact]
    public async Task A_version_4_database_answers_after_migration_5_as_a_fresh_one_with_events_stored_before_and_after()
    {
        using var migrated = await StoreAtVersionAsync(4);
        var half = History.Length / 2;
        await migrated.InsertAsync([.. History.Take(half)], default);
        await migrated.InsertAsync([History[0]], default); // duplicates, not yet merged
        await migrated.InitializeAsync(default);
        await migrated.InsertAsync([.. History.Skip(half)], default);
        using var fresh = await FreshStoreAsync();
        await fresh.InsertAsync(History, default);

        Assert.Equal(await AnswersAsync(fresh), await AnswersAsync(migrated));
        var tables = $"SELECT count() FROM system.tables WHERE database = '{migrated.Layout.Database}' AND name";
        Assert.Equal(0, await ScalarAsync($"{tables} = 'trait_states_mv'"));
        Assert.Equal(1, await ScalarAsync($"{tables} IN ('trait_changes', 'trait_changes_local') AND engine = 'Null'"));
    }

    [Fact]
    public async Task Migration_3_copied_twice_and_resumed_after_a_crash_changes_no_answer()
    {
        using var migrated = await StoreAtVersionAsync(2);
        await migrated.InsertAsync(History, default);
        var steps = ClickHouseSchema.Migrations[2].Steps(migrated.Layout).ToArray();
        var copy = Array.FindIndex(steps, s => s.Sql.StartsWith("INSERT INTO", StringComparison.Ordinal));
        Assert.NotNull(steps[copy].OnlyIf);

        // Died after the copy (which ran twice) and after the old view was dropped, before the old table was.
        foreach (var step in steps.Take(copy + 1).Append(steps[copy]).Append(steps[copy + 1]))
        {
            await ScalarAsync(step.Sql, expectRows: false);
        }

        // Events stored meanwhile reach only the new table's view.
        await migrated.InsertAsync([History[1]], default);
        await migrated.InitializeAsync(default);
        using var fresh = await FreshStoreAsync();
        await fresh.InsertAsync(History, default);

        Assert.Equal(await AnswersAsync(fresh), await AnswersAsync(migrated));
    }

    /// <summary>Every query of the API on the history's groups, users and keys, as JSON text (records with dictionaries compare by reference).</summary>
    private static async Task<string> AnswersAsync(ClickHouseEventStore store)
    {
        var answers = new List<object?>();
        foreach (var tenant in new[] { "t1", "t2" })
        {
            answers.Add(await store.CountAsync(tenant, default));
            foreach (var group in new[] { "acme", "beta", "gamma" })
            {
                answers.Add(await store.GetGroupAsync(tenant, group, default));
                answers.Add(await store.GetGroupUsersAsync(tenant, group, null, 10, default));
                foreach (var key in new[] { "plan", "region", "seats", "it's" })
                {
                    answers.Add(await store.GetTraitHistoryAsync(tenant, group, key, null, 10, default));
                }
            }

            foreach (var user in new[] { "alice", "bob", "carol" })
            {
                answers.Add(await store.GetUserGroupsAsync(tenant, user, null, 10, default));
            }

            answers.Add(await store.FindGroupsAsync(tenant, [], null, 10, default));
            answers.Add(await store.FindGroupsAsync(tenant, [new TraitFilter("plan", FilterOperator.Equals, ["\"pro\""])], null, 10, default));
            answers.Add(await store.FindGroupsAsync(tenant, [new TraitFilter("it's", FilterOperator.Equals, ["\"y\""])], null, 10, default));
            answers.Add(await store.CountGroupsByTraitAsync(tenant, "plan", [], 10, default));
            answers.Add(await store.CountGroupsByTraitAsync(tenant, "region", [], 10, default));
        }

        return JsonSerializer.Serialize(answers);
    }

    private Task<ClickHouseEventStore> StoreAtVersion1Async() => StoreAtVersionAsync(1);

    private async Task<ClickHouseEventStore> StoreAtVersionAsync(int version)
    {
        var store = new ClickHouseEventStore(Options(ClickHouseFixture.NewDatabase()), NullLogger<ClickHouseEventStore>.Instance);
        await store.MigrateAsync(version, default);
        Assert.Equal(version, await ScalarAsync($"SELECT max(version) FROM {store.Layout.Database}.schema_migrations"));
        return store;
    }

    private async Task<ClickHouseEventStore> FreshStoreAsync()
    {
        var store = new ClickHouseEventStore(Options(ClickHouseFixture.NewDatabase()), NullLogger<ClickHouseEventStore>.Instance);
        await store.InitializeAsync(default);
        return store;
    }

    /// <summary>What version 1's InsertAsync wrote: trait rows, then event rows (which feed the membership views).</summary>
    private async Task WriteVersion1RowsAsync(string database, IReadOnlyList<IngestBatch> batches)
    {
        using var events = new RowBinaryWriter(4096);
        using var traits = new RowBinaryWriter(4096);
        foreach (var batch in batches)
        {
            foreach (var e in batch.Events)
            {
                events.String(batch.Tenant);
                events.String(e.EventId);
                events.NullableString(e.MessageId);
                events.String(e.GroupId);
                events.String(e.UserId);
                events.UInt64((ulong)e.TimestampMicros);
                events.String(e.GroupType);
                events.String(e.TraitsJson);
                events.NullableString(e.ContextJson);
                events.UInt64((ulong)batch.ReceivedAtMicros);
                foreach (var trait in e.Traits)
                {
                    traits.String(batch.Tenant);
                    traits.String(e.GroupId);
                    traits.String(trait.Key);
                    traits.UInt64((ulong)e.TimestampMicros);
                    traits.String(e.EventId);
                    traits.String(trait.Json ?? string.Empty);
                    traits.UInt8(trait.Json is null ? (byte)1 : (byte)0);
                }
            }
        }

        await PostRowsAsync($"{database}.group_traits", V1TraitColumns, traits.WrittenSpan.ToArray());
        await PostRowsAsync($"{database}.events", V1EventColumns, events.WrittenSpan.ToArray());
    }

    private async Task PostRowsAsync(string table, string[] columns, byte[] body)
    {
        using var http = new HttpClient();
        using var content = new ByteArrayContent(body);
        var sql = $"INSERT INTO {table} ({string.Join(", ", columns)}) FORMAT RowBinary";
        using var response = await http.PostAsync(Server.Url(sql, StatementSettings), content);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<long> ScalarAsync(string sql, bool expectRows = true)
    {
        var body = await Server.QueryAsync(sql, StatementSettings);
        return expectRows ? long.Parse(body, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }
}

/// <summary>The migrations on one server.</summary>
[Collection(ClickHouseServerGroup.Name)]
public sealed class ClickHouseMigrationTests(ClickHouseFixture fixture) : ClickHouseMigrationContract
{
    internal override ClickHouseEndpoint Server => fixture.Server;

    internal override ClickHouseOptions Options(string database) => new() { ConnectionString = fixture.Server.ConnectionString, Database = database };
}
