using System.Diagnostics.CodeAnalysis;
using DuckDB.NET.Data;
using Platform.Ingest.Storage;
using Platform.Ingest.Storage.DuckDb;
using static Platform.Tests.Storage.TestEvents;

namespace Platform.Tests.Storage;

/// <summary>A call is one transaction: all of its batches are stored, or none of them.</summary>
[SuppressMessage("Reliability", "CA1001:Types that own disposable fields should be disposable", Justification = "xunit disposes test classes through IAsyncLifetime.")]
public sealed class DuckDbAtomicityTests : IAsyncLifetime
{
    private readonly TempDuckDb _db = new();
    private DuckDbEventStore _store = null!;

    public async Task InitializeAsync() => _store = await _db.OpenStoreAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task A_call_that_fails_on_a_trait_row_stores_none_of_its_batches()
    {
        // The events statement succeeds for every batch; the trait row with a NULL key then violates NOT NULL.
        var valid = Batch("t1", Event(1, traits: Trait("plan", "\"pro\"")), Event(2, "globex", "bob", traits: Trait("seats", "4")));
        var poisoned = Batch("t2", Event(3, traits: Trait(null!, "1")));

        var error = await Assert.ThrowsAsync<DuckDBException>(() => _store.InsertAsync([valid, poisoned], CancellationToken.None));

        Assert.Contains("group_traits.trait_key", error.Message, StringComparison.Ordinal);
        Assert.Equal(new StoredCounts(0, 0, 0), await _store.CountAsync("t1", CancellationToken.None));
        Assert.Equal(new StoredCounts(0, 0, 0), await _store.CountAsync("t2", CancellationToken.None));
        Assert.Empty(_db.Query("SELECT * FROM events"));
    }

    [Fact]
    public async Task A_call_that_fails_on_an_event_row_stores_none_of_its_batches()
    {
        var valid = Batch("t1", Event(1, traits: Trait("plan", "\"pro\"")));
        var poisoned = Batch("t1", Event(2, groupId: null!));

        var error = await Assert.ThrowsAsync<DuckDBException>(() => _store.InsertAsync([valid, poisoned], CancellationToken.None));

        Assert.Contains("events.group_id", error.Message, StringComparison.Ordinal);
        Assert.Equal(new StoredCounts(0, 0, 0), await _store.CountAsync("t1", CancellationToken.None));
    }

    [Fact]
    public async Task The_retry_of_a_failed_call_is_stored_in_full()
    {
        var valid = Batch("t1", Event(1, traits: Trait("plan", "\"pro\"")), Event(2, "globex", "bob", traits: Trait("seats", "4")));
        await Assert.ThrowsAsync<DuckDBException>(
            () => _store.InsertAsync([valid, Batch("t1", Event(3, traits: Trait(null!, "1")))], CancellationToken.None));

        await _store.InsertAsync([valid], CancellationToken.None);

        Assert.Equal(new StoredCounts(2, 2, 2), await _store.CountAsync("t1", CancellationToken.None));
        Assert.Equal(new Dictionary<string, string> { ["plan"] = "\"pro\"" }, await _store.GetCurrentTraitsAsync("t1", "acme", CancellationToken.None));
    }

    [Fact]
    public async Task A_failed_call_leaves_earlier_calls_intact()
    {
        await _store.InsertAsync([Batch("t1", Event(1, traits: Trait("plan", "\"free\"")))], CancellationToken.None);

        await Assert.ThrowsAsync<DuckDBException>(
            () => _store.InsertAsync([Batch("t1", Event(2, micros: At(10), traits: Trait("plan", "\"pro\"")), Event(3, userId: null!))], CancellationToken.None));

        Assert.Equal(new StoredCounts(1, 1, 1), await _store.CountAsync("t1", CancellationToken.None));
        Assert.Equal(new Dictionary<string, string> { ["plan"] = "\"free\"" }, await _store.GetCurrentTraitsAsync("t1", "acme", CancellationToken.None));
    }

    [Fact]
    public async Task A_cancelled_call_stores_nothing()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _store.InsertAsync([Batch("t1", Event(1))], cancelled.Token));

        Assert.Equal(new StoredCounts(0, 0, 0), await _store.CountAsync("t1", CancellationToken.None));
    }

    [Fact]
    public async Task Inserting_into_a_disposed_store_throws_and_stores_nothing()
    {
        await _store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => _store.InsertAsync([Batch("t1", Event(1))], CancellationToken.None));

        await using var reopened = await _db.OpenStoreAsync();
        Assert.Equal(new StoredCounts(0, 0, 0), await reopened.CountAsync("t1", CancellationToken.None));
    }

    /// <summary>The store relies on this: rows written by the appender inside an explicit transaction are undone by ROLLBACK.</summary>
    [Fact]
    public async Task Appender_rows_written_inside_a_transaction_are_undone_by_rollback()
    {
        await _store.DisposeAsync();
        using var connection = new DuckDBConnection(new DuckDBConnectionStringBuilder { DataSource = _db.DatabasePath }.ConnectionString);
        connection.Open();
        using (var transaction = connection.BeginTransaction())
        {
            using (var appender = connection.CreateAppender("group_traits"))
            {
                appender.CreateRow()
                    .AppendValue("t1").AppendValue("acme").AppendValue("plan").AppendValue(DateTime.UnixEpoch)
                    .AppendValue(Id(1)).AppendValue("\"pro\"").AppendValue(false).EndRow();
            }

            using var inside = connection.CreateCommand();
            inside.CommandText = "SELECT count(*) FROM group_traits";
            Assert.Equal(1L, Convert.ToInt64(inside.ExecuteScalar()));
            transaction.Rollback();
        }

        using var after = connection.CreateCommand();
        after.CommandText = "SELECT count(*) FROM group_traits";
        Assert.Equal(0L, Convert.ToInt64(after.ExecuteScalar()));
    }
}
