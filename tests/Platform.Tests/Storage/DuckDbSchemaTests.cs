using System.Diagnostics.CodeAnalysis;
using Platform.Ingest.Storage.DuckDb;

namespace Platform.Tests.Storage;

[SuppressMessage("Reliability", "CA1001:Types that own disposable fields should be disposable", Justification = "xunit disposes test classes through IAsyncLifetime.")]
public sealed class DuckDbSchemaTests : IAsyncLifetime
{
    private readonly TempDuckDb _db = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Initialize_creates_the_missing_data_directory_and_every_table()
    {
        Assert.False(Directory.Exists(Path.GetDirectoryName(_db.DatabasePath)));

        await using (await _db.OpenStoreAsync())
        {
        }

        Assert.True(File.Exists(_db.DatabasePath));
        var tables = _db.Query("SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY table_name")
            .Select(row => (string)row[0]!)
            .ToArray();
        Assert.Equal(["current_traits", "events", "group_traits", "memberships", "schema_migrations"], tables);
    }

    [Fact]
    public async Task Initialize_records_each_migration_once_with_the_time_it_ran()
    {
        var before = DateTime.UtcNow.AddSeconds(-1);

        await using (await _db.OpenStoreAsync())
        {
        }

        var rows = _db.Query("SELECT version, applied_at FROM schema_migrations ORDER BY version");
        Assert.Equal(DuckDbSchema.Migrations.Select(m => m.Version), rows.Select(r => (int)r[0]!));
        Assert.All(rows, r => Assert.InRange((DateTime)r[1]!, before, DateTime.UtcNow.AddSeconds(1)));
    }

    [Fact]
    public async Task Reopening_an_existing_file_applies_no_migration_again_and_keeps_the_data()
    {
        await using (var first = await _db.OpenStoreAsync())
        {
            await first.InsertAsync([TestEvents.Batch("t1", TestEvents.Event(1, traits: TestEvents.Trait("plan", "\"pro\"")))], CancellationToken.None);
        }

        var appliedBefore = _db.Query("SELECT version, applied_at FROM schema_migrations ORDER BY version");

        await using (var second = await _db.OpenStoreAsync())
        {
            Assert.Equal(new(1, 1, 1), await second.CountAsync("t1", CancellationToken.None));
        }

        var appliedAfter = _db.Query("SELECT version, applied_at FROM schema_migrations ORDER BY version");
        Assert.Equal(appliedBefore, appliedAfter);
    }

    [Fact]
    public async Task Initializing_the_same_store_twice_is_harmless()
    {
        var store = await _db.OpenStoreAsync();

        await store.InitializeAsync(CancellationToken.None);

        Assert.True(await store.IsHealthyAsync(CancellationToken.None));
        Assert.Equal(Platform.Ingest.Storage.DuckDb.DuckDbSchema.Migrations.Count, _db.Query("SELECT version FROM schema_migrations").Count);
    }

    [Fact]
    public async Task A_file_whose_schema_is_newer_than_this_build_is_refused()
    {
        await using (await _db.OpenStoreAsync())
        {
        }

        _db.Query("INSERT INTO schema_migrations VALUES (999, TIMESTAMP '2030-01-01 00:00:00') RETURNING version");
        var store = _db.CreateStore();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Contains("999", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inserting_before_initialize_fails_clearly()
    {
        var store = _db.CreateStore();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => store.InsertAsync([TestEvents.Batch("t1", TestEvents.Event(1))], CancellationToken.None));
        Assert.Contains("InitializeAsync", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migration_2_builds_current_values_from_an_existing_history()
    {
        await using (var store = await _db.OpenStoreAsync())
        {
            await store.InsertAsync(
                [TestEvents.Batch("t1",
                    TestEvents.Event(2, micros: TestEvents.At(20), traits: [TestEvents.Trait("plan", "\"pro\""), TestEvents.Trait("seats", "3")]),
                    TestEvents.Event(1, micros: TestEvents.At(10), traits: [TestEvents.Trait("plan", "\"free\""), TestEvents.Trait("region", "\"eu\"")]),
                    TestEvents.Event(3, micros: TestEvents.At(30), traits: [TestEvents.Trait("seats", null)]))],
                CancellationToken.None);
        }

        // Back to a version-1 file: the history without the derived table.
        _db.Query("DELETE FROM current_traits");
        _db.Query("DELETE FROM schema_migrations WHERE version = 2");

        await using var reopened = await _db.OpenStoreAsync();

        Assert.Equal(
            new Dictionary<string, string> { ["plan"] = "\"pro\"", ["region"] = "\"eu\"" },
            await reopened.GetCurrentTraitsAsync("t1", "acme", CancellationToken.None));
    }
}
