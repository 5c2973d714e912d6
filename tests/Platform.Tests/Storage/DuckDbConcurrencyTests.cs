using System.Diagnostics.CodeAnalysis;
using Platform.Ingest.Events;
using Platform.Ingest.Storage;
using Platform.Ingest.Storage.DuckDb;
using static Platform.Tests.Storage.TestEvents;

namespace Platform.Tests.Storage;

[SuppressMessage("Reliability", "CA1001:Types that own disposable fields should be disposable", Justification = "xunit disposes test classes through IAsyncLifetime.")]
public sealed class DuckDbConcurrencyTests : IAsyncLifetime
{
    private readonly TempDuckDb _db = new();
    private DuckDbEventStore _store = null!;

    public async Task InitializeAsync() => _store = await _db.OpenStoreAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Concurrent_calls_from_many_tasks_store_every_event_exactly_once()
    {
        const int Tasks = 16;
        const int CallsPerTask = 6;
        const int EventsPerBatch = 40;

        // Tasks in the same family send the same events, so duplicates race each other into storage.
        static GroupEvent EventFor(int id) => Event(id, $"g{id % 10}", $"u{id % 7}", At(id % 13), traits: [Trait("plan", $"\"p{id}\""), Trait("seats", $"{id}")]);
        static int[] IdsFor(int task, int call, int batch) =>
            [.. Enumerable.Range(0, EventsPerBatch).Select(i => ((task % 4) * 100_000) + (call * 1_000) + (batch * 100) + i)];

        using var start = new ManualResetEventSlim();
        var writers = Enumerable.Range(0, Tasks).Select(task => Task.Run(async () =>
        {
            start.Wait();
            for (var call = 0; call < CallsPerTask; call++)
            {
                var tenant = task % 2 == 0 ? "even" : "odd";
                await _store.InsertAsync(
                    [Batch(tenant, [.. IdsFor(task, call, 0).Select(EventFor)]), Batch(tenant, [.. IdsFor(task, call, 1).Select(EventFor)])],
                    CancellationToken.None);
            }
        }));
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            for (var i = 0; i < 20; i++)
            {
                Assert.True(await _store.IsHealthyAsync(CancellationToken.None));
                await _store.CountAsync("even", CancellationToken.None);
                await _store.GetCurrentTraitsAsync("odd", "g1", CancellationToken.None);
            }
        }));
        var all = writers.Concat(readers).ToArray();
        start.Set();
        await Task.WhenAll(all);

        foreach (var tenant in new[] { "even", "odd" })
        {
            var ids = Enumerable.Range(0, Tasks).Where(t => (t % 2 == 0) == (tenant == "even"))
                .SelectMany(t => Enumerable.Range(0, CallsPerTask).SelectMany(c => IdsFor(t, c, 0).Concat(IdsFor(t, c, 1))))
                .Distinct()
                .ToArray();
            var pairs = ids.Select(id => (id % 10, id % 7)).Distinct().Count();
            Assert.Equal(new StoredCounts(ids.Length, ids.Length * 2, pairs), await _store.CountAsync(tenant, CancellationToken.None));
        }

        Assert.Empty(_db.Query("SELECT tenant, event_id FROM group_traits GROUP BY ALL HAVING count(*) <> 2"));
    }
}
