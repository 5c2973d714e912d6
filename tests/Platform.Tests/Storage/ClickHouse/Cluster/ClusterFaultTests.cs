using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Platform.Tests.Gateway;
using Platform.Tests.Integration;
using Platform.Tests.Servers;

namespace Platform.Tests.Storage.ClickHouse.Cluster;

/// <summary>
/// Nodes of the cluster killed under load, each test on a cluster of its own. With the write-ahead log a request is
/// answered once it is durable in ingest's log, so an outage of ClickHouse nodes is absorbed there: clients keep getting
/// 200s, the shipper retries, and nothing acked is lost. A replica killed mid-load: its shard's inserts go to the other
/// replica, and once it is back and has caught up it holds every acked event of its shard. A shard's only server down:
/// only what needs that shard now fails (a read, a queryable ack: 503 with Retry-After), and shipping resumes when it
/// returns, without restarting ingest.
/// </summary>
[Collection(ClickHouseClusterGroup.Name)]
[Trait("Category", ClickHouseClusterGroup.Category)]
public sealed class ClusterFaultTests(RedisFixture redis)
{
    /// <summary>Storage settings for riding out an outage within seconds: short insert timeouts, quick retries, small blocks.</summary>
    private static readonly Dictionary<string, string?> Outage = new()
    {
        ["Writer:Ack"] = "Durable",
        ["Shipper:MaxBlockAge"] = "00:00:00.100",
        ["Shipper:InsertTimeout"] = "00:00:05",
        ["Shipper:MaxRetryDelay"] = "00:00:00.500",
    };

    private static string Request(string prefix, int index) => "[" + string.Join(",", Enumerable.Range(0, 10).Select(i =>
        $$$"""{"group_id":"g{{{(index + i) % 23}}}","user_id":"u{{{index}}}","timestamp":"2024-05-01T12:00:{{{i:00}}}Z","message_id":"{{{prefix}}}-{{{index}}}-{{{i}}}","traits":{"group_type":"Account","seq":{{{index}}}}}""")) + "]";

    private static IEnumerable<string> MessageIds(string prefix, int index) => Enumerable.Range(0, 10).Select(i => $"{prefix}-{index}-{i}");

    [Fact]
    public async Task A_replica_killed_mid_load_loses_no_acked_event_and_holds_them_all_once_it_is_back_and_caught_up()
    {
        using var cluster = await ClickHouseCluster.StartAsync();
        var dedup = await redis.NewDatabaseAsync();
        // Two ingest instances sharing Redis behind one gateway, both through shard 2's node: shard 1's inserts go to its
        // first replica, the one killed here, and must move to the second.
        var via = cluster.Shards[1][0];
        var settings = new Dictionary<string, string?>(Outage) { ["Dedup:Backend"] = "Redis", ["Dedup:Redis:ConnectionString"] = dedup.ConnectionString };
        using var first = ClusterStorage.Host(via, ClickHouseFixture.NewDatabase(), settings);
        var database = ClusterStorage.DatabaseOf(first);
        using var second = ClusterStorage.Host(via, database, new Dictionary<string, string?>(settings)
        {
            ["Auth:PublicKeyFiles:0"] = Path.Combine(first.KeyDirectory, Platform.ServiceDefaults.Auth.DevelopmentKeys.PublicKeyFileName),
        });
        var tokens = new GatewayTokens(first.KeyDirectory);
        using var gateway = new GatewayHost(first.Client.BaseAddress!, tokens.PublicKeyFile, new Dictionary<string, string?>
        {
            ["Proxy:IngestAddresses:1"] = second.Client.BaseAddress!.GetLeftPart(UriPartial.Authority),
        });
        var token = tokens.Valid("acme");
        var acked = new ConcurrentBag<string>();
        var refused = new ConcurrentBag<string>();
        var next = 0;
        using var stop = new CancellationTokenSource();

        async Task SendAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var index = Interlocked.Increment(ref next);
                using var response = await GatewayFixture.PostAsync(gateway.Client, Request("r", index), token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    foreach (var id in MessageIds("r", index))
                    {
                        acked.Add(id);
                    }
                }
                else
                {
                    refused.Add($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }
        }

        var senders = Enumerable.Range(0, 4).Select(_ => Task.Run(SendAsync)).ToArray();
        var killed = cluster.Shards[0][0];
        await WhileSendingAsync(acked, TimeSpan.FromSeconds(1));
        var ackedBeforeKill = acked.ToHashSet(StringComparer.Ordinal);
        killed.Kill();
        await WhileSendingAsync(acked, TimeSpan.FromSeconds(3));

        // While it is down, its shard's inserts go to the other replica: events acked since the kill arrive there.
        var survivor = cluster.Shards[0][1];
        var deadline = Stopwatch.StartNew();
        while ((await LocalMessageIdsAsync(survivor, database)).Except(ackedBeforeKill).Intersect(acked).Any() is false)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "no event acked after the kill reached the other replica of its shard");
            await Task.Delay(200);
        }

        await killed.StartAgainAsync();
        await WhileSendingAsync(acked, TimeSpan.FromSeconds(2));
        await stop.CancelAsync();
        await Task.WhenAll(senders);

        Assert.Empty(refused);
        var expected = acked.ToHashSet(StringComparer.Ordinal);
        await WaitUntilStoredAsync(via, database, expected);
        await ClusterStorage.SyncReplicasAsync(cluster, database);
        var shards = new List<HashSet<string>>();
        foreach (var replicas in cluster.Shards)
        {
            var stored = await LocalMessageIdsAsync(replicas[0], database);
            foreach (var replica in replicas.Skip(1))
            {
                Assert.Equal(stored, await LocalMessageIdsAsync(replica, database));
            }

            shards.Add(stored);
        }

        Assert.Equal(expected, shards.SelectMany(s => s).ToHashSet(StringComparer.Ordinal));
        Assert.Equal(expected.Count, shards.Sum(s => s.Count));
        Assert.Equal(expected.Count, (await first.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task A_shard_down_keeps_acking_answers_what_needs_it_503_loses_nothing_and_ships_when_it_returns_without_restarting_ingest()
    {
        using var cluster = await ClickHouseCluster.StartAsync();
        using var host = ClusterStorage.Host(cluster.Shards[0][0], ClickHouseFixture.NewDatabase(), new Dictionary<string, string?>(Outage) { ["Writer:QueryableWait"] = "00:00:02" });
        var database = ClusterStorage.DatabaseOf(host);
        var acked = new HashSet<string>(StringComparer.Ordinal);

        async Task PostAsync(int index)
        {
            using var response = await host.PostAsync(Request("s", index));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            acked.UnionWith(MessageIds("s", index));
        }

        for (var i = 0; i < 5; i++)
        {
            await PostAsync(i);
        }

        var shard = cluster.Shards[1][0];
        shard.Kill();

        // Requests are durable in the log: answered 200 while the shard is down.
        for (var i = 5; i < 25; i++)
        {
            await PostAsync(i);
        }

        // What needs the shard now cannot have it: a queryable ack and a read answer 503 with Retry-After.
        var queryable = Request("q", 0);
        using (var refused = await host.SendAsync(queryable, host.Token(), r => r.Headers.Add("Prefer", "ack=queryable")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Contains("not yet queryable", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var read = await GetAsync(host, "/api/groups/g1"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, read.StatusCode);
            Assert.NotNull(read.Headers.RetryAfter);
            Assert.Contains("storage did not answer", await read.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var ready = await host.Client.GetAsync("/healthz/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Contains("Degraded", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The same ingest process, untouched: its shipper's retries succeed once the shard answers.
        await shard.StartAgainAsync();
        acked.UnionWith(MessageIds("q", 0));
        await WaitUntilStoredAsync(cluster.Shards[0][0], database, acked);
        using (var retried = await host.SendAsync(queryable, host.Token(), r => r.Headers.Add("Prefer", "ack=queryable")))
        {
            Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
            Assert.Equal(10, JsonDocument.Parse(await retried.Content.ReadAsStringAsync()).RootElement.GetProperty("duplicates").GetInt32());
        }

        using (var read = await GetAsync(host, "/api/groups/g1"))
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }

        Assert.Equal(acked.Count, (await host.Store.CountAsync("acme", default)).Events);
    }

    private static async Task WhileSendingAsync(ConcurrentBag<string> acked, TimeSpan duration)
    {
        var started = acked.Count;
        await Task.Delay(duration);
        Assert.True(acked.Count > started || duration < TimeSpan.FromSeconds(1), "the load stalled");
    }

    private static async Task<HttpResponseMessage> GetAsync(IngestHost host, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Bearer", host.Token("acme", Platform.ServiceDefaults.Auth.PlatformScopes.AnalyticsRead));
        return await host.Client.SendAsync(request);
    }

    /// <summary>Polls (bounded) the Distributed table through <paramref name="via"/> until every expected event is stored.</summary>
    private static async Task WaitUntilStoredAsync(ClickHouseServer via, string database, HashSet<string> expected)
    {
        var deadline = Stopwatch.StartNew();
        HashSet<string> stored = [];
        while (deadline.Elapsed < TimeSpan.FromSeconds(90))
        {
            stored = [.. (await ClusterStorage.RowsAsync(via, $"SELECT DISTINCT message_id AS m FROM {database}.events FORMAT JSONEachRow"))
                .Select(row => row.GetProperty("m").GetString()!)];
            if (expected.IsSubsetOf(stored))
            {
                break;
            }

            await Task.Delay(200);
        }

        Assert.Equal(expected, stored);
    }

    private static async Task<HashSet<string>> LocalMessageIdsAsync(ClickHouseServer node, string database) =>
        [.. (await ClusterStorage.RowsAsync(node, $"SELECT DISTINCT message_id AS m FROM {database}.events_local FORMAT JSONEachRow"))
            .Select(row => row.GetProperty("m").GetString()!)];
}
