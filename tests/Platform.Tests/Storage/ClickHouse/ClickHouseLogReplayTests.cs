using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Ingest.Log;
using Platform.Ingest.Storage.ClickHouse;
using Platform.Tests.Integration;
using Platform.Tests.Servers;

namespace Platform.Tests.Storage.ClickHouse;

/// <summary>
/// The write-ahead log across process deaths, with ingest as a real child process on ClickHouse: a 200 means the
/// events survive a SIGKILL and reach storage exactly once after the restart; a SIGTERM ships the log before exiting.
/// </summary>
[Collection(ClickHouseServerGroup.Name)]
public sealed class ClickHouseLogReplayTests(ClickHouseFixture fixture) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("platform-replay-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file still open; the OS cleans temp.
        }
    }

    private Dictionary<string, string> Settings(string database, string maxBlockAge) => new()
    {
        ["Storage:Backend"] = "ClickHouse",
        ["Storage:ClickHouse:ConnectionString"] = fixture.Server.ConnectionString,
        ["Storage:ClickHouse:Database"] = database,
        ["Log:Directory"] = Path.Combine(_root, "log"),
        ["Writer:Ack"] = "Durable",
        ["Shipper:MaxBlockAge"] = maxBlockAge,
        ["Shipper:DrainTimeout"] = "00:00:30",
    };

    /// <summary>What storage counts for the tenant: a replayed block must not be counted twice.</summary>
    private async Task<long> CountEventsAsync(string database)
    {
        using var store = new ClickHouseEventStore(
            new ClickHouseOptions { ConnectionString = fixture.Server.ConnectionString, Database = database },
            NullLogger<ClickHouseEventStore>.Instance);
        return (await store.CountAsync("acme", default)).Events;
    }

    private static async Task<List<string>> SendAsync(IngestProcess ingest, string prefix, int from, int requests, int events, ConcurrentBag<string>? acked = null)
    {
        acked ??= [];
        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(Enumerable.Range(from, requests).Select(async n =>
        {
            await gate.WaitAsync();
            try
            {
                using var response = await ingest.PostAsync(ClickHouseIngestTests.Request(prefix, n, events));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    foreach (var i in Enumerable.Range(0, events))
                    {
                        acked.Add($"{prefix}-{n}-{i}");
                    }
                }
            }
            catch (HttpRequestException)
            {
                // Killed under it: not acked.
            }
            finally
            {
                gate.Release();
            }
        }));
        return [.. acked];
    }

    [Fact]
    public async Task Events_acked_but_unshipped_when_ingest_is_killed_are_stored_exactly_once_after_the_restart()
    {
        var database = ClickHouseFixture.NewDatabase();
        var keys = Path.Combine(_root, "keys");
        List<string> acked;
        // A block waits a minute before it ships: everything acked is still only in the log when the process dies.
        using (var first = await IngestProcess.StartAsync(keys, Settings(database, "00:01:00")))
        {
            acked = await SendAsync(first, "k", 0, 40, 25);
            Assert.Equal(40 * 25, acked.Count);
            Assert.Empty(await ClickHouseIngestTests.StoredMessageIdsAsync(fixture.Server, database));
            first.Kill();
        }

        using var second = await IngestProcess.StartAsync(keys, Settings(database, "00:00:00.100"));
        // Clients retry some of those requests (their answers might have been lost): still stored once.
        var retried = await SendAsync(second, "k", 0, 10, 25);
        Assert.Equal(10 * 25, retried.Count);
        var stored = await ClickHouseIngestTests.WaitForStoredAsync(fixture.Server, database, acked, TimeSpan.FromSeconds(60));
        Assert.Equal(acked.ToHashSet(StringComparer.Ordinal), stored);
        Assert.Equal(acked.Count, await CountEventsAsync(database));
    }

    [Fact]
    public async Task Ingest_killed_while_shipping_under_load_stores_every_acked_event_exactly_once_after_the_restart()
    {
        var database = ClickHouseFixture.NewDatabase();
        var keys = Path.Combine(_root, "keys");
        var acked = new List<string>();
        using (var first = await IngestProcess.StartAsync(keys, Settings(database, "00:00:00.020")))
        {
            // Killed mid-stream, once a few hundred requests were acked and blocks are shipping every 20 ms.
            var sent = new ConcurrentBag<string>();
            var load = SendAsync(first, "s", 0, 2_000, 20, sent);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (sent.Count < 200 * 20 && DateTime.UtcNow < deadline && !load.IsCompleted)
            {
                await Task.Delay(20);
            }

            first.Kill();
            acked.AddRange(await load);
        }

        Assert.NotEmpty(acked);
        using var second = await IngestProcess.StartAsync(keys, Settings(database, "00:00:00.020"));
        acked.AddRange(await SendAsync(second, "s", 400, 20, 20));
        var stored = await ClickHouseIngestTests.WaitForStoredAsync(fixture.Server, database, acked, TimeSpan.FromSeconds(60));
        // Every acked event is stored; an event whose answer the kill swallowed may be stored too, but only once.
        Assert.DoesNotContain(acked, id => !stored.Contains(id));
        Assert.Equal(stored.Count, await CountEventsAsync(database));
    }

    [Fact]
    public async Task A_graceful_stop_ships_everything_in_the_log_before_the_process_exits()
    {
        var database = ClickHouseFixture.NewDatabase();
        var keys = Path.Combine(_root, "keys");
        using var ingest = await IngestProcess.StartAsync(keys, Settings(database, "00:01:00"));
        var acked = await SendAsync(ingest, "t", 0, 20, 25);
        Assert.Equal(20 * 25, acked.Count);
        Assert.Empty(await ClickHouseIngestTests.StoredMessageIdsAsync(fixture.Server, database));

        var exitCode = await ingest.TerminateAsync(TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 0, ingest.Output);
        Assert.Equal(acked.ToHashSet(StringComparer.Ordinal), await ClickHouseIngestTests.StoredMessageIdsAsync(fixture.Server, database));
        // Nothing is left to replay: the checkpoint covers the whole log.
        await using var log = IngestLog.Open(Path.Combine(_root, "log"), 1L << 30, 64L << 20);
        Assert.Equal(0, log.UnshippedBytes);
    }
}
