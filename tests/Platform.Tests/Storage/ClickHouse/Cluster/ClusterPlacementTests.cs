using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Platform.Ingest.Storage.ClickHouse;
using Platform.ServiceDefaults.Auth;
using Platform.Tests.Integration;
using Platform.Tests.Servers;

namespace Platform.Tests.Storage.ClickHouse.Cluster;

/// <summary>
/// Where rows land on the cluster and what the Distributed reads count: a group's events and everything the views derive
/// from them live on one shard; a duplicate sent to the other of two ingest instances sharing Redis is stored once; and a
/// duplicate that got past dedup is stored twice, on its group's shard, and counted once by every read.
/// </summary>
[Collection(ClickHouseClusterGroup.Name)]
[Trait("Category", ClickHouseClusterGroup.Category)]
public sealed class ClusterPlacementTests(ClickHouseClusterFixture fixture, RedisFixture redis)
{
    private ClickHouseCluster Cluster => fixture.Cluster;

    /// <summary><paramref name="count"/> events with message ids, spread over <paramref name="groups"/> groups and three users.</summary>
    private static string Events(string prefix, int count, int groups) => "[" + string.Join(",", Enumerable.Range(0, count).Select(i =>
        $$$"""{"group_id":"g{{{i % groups}}}","user_id":"u{{{i % 3}}}","timestamp":"2024-05-01T12:{{{i / 60 % 60:00}}}:{{{i % 60:00}}}Z","message_id":"{{{prefix}}}-{{{i}}}","traits":{"group_type":"Account","plan":"p{{{i % 4}}}","seq":{{{i}}}}}""")) + "]";

    [Fact]
    public async Task A_groups_events_and_what_the_views_derive_from_them_live_on_one_shard()
    {
        using var host = ClusterStorage.Host(fixture.DefaultNode, await fixture.MigratedDatabaseAsync());
        var database = ClusterStorage.DatabaseOf(host);
        for (var request = 0; request < 3; request++)
        {
            // Each request holds events of many groups: one block spans both shards.
            using var response = await host.PostAsync(Events($"r{request}", 100, groups: 40));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await ClusterStorage.SyncReplicasAsync(Cluster, database);

        var shards = new List<HashSet<string>>();
        foreach (var replicas in Cluster.Shards)
        {
            var events = await GroupsAsync(replicas[0], $"{database}.events_local");
            // Three requests of events 0..99, event i in group g(i % 40): every one of the shard's groups' events is here.
            var expected = 3 * Enumerable.Range(0, 100).Count(i => events.Contains($"g{i % 40}"));
            Assert.Equal(expected, await replicas[0].Endpoint.ScalarAsync($"SELECT count() FROM {database}.events_local"));
            Assert.Equal(events, await GroupsAsync(replicas[0], $"{database}.{ClickHouseSchema.TraitStates.Name}_local"));
            Assert.Equal(events, await GroupsAsync(replicas[0], $"{database}.user_groups_local"));
            foreach (var replica in replicas.Skip(1))
            {
                Assert.Equal(events, await GroupsAsync(replica, $"{database}.events_local"));
            }

            shards.Add(events);
        }

        Assert.All(shards, groups => Assert.NotEmpty(groups));
        Assert.Empty(shards[0].Intersect(shards[1]));
        Assert.Equal(40, shards.Sum(groups => groups.Count));
    }

    [Fact]
    public async Task A_duplicate_sent_to_the_other_ingest_instance_sharing_redis_is_stored_once()
    {
        var dedup = await redis.NewDatabaseAsync();
        var shared = new Dictionary<string, string?> { ["Dedup:Backend"] = "Redis", ["Dedup:Redis:ConnectionString"] = dedup.ConnectionString };
        using var first = ClusterStorage.Host(fixture.DefaultNode, await fixture.MigratedDatabaseAsync(), shared);
        var database = ClusterStorage.DatabaseOf(first);
        // The second instance writes the same database through a node of the other shard.
        using var second = ClusterStorage.Host(Cluster.Shards[1][0], database, shared);
        var batch = Events("once", 20, groups: 10);

        var stored = await ContractBody.ReadAsync(await first.PostAsync(batch));
        var resent = await ContractBody.ReadAsync(await second.PostAsync(batch));

        Assert.Equal((20, 0), (stored.Accepted, stored.Duplicates));
        Assert.Equal((0, 20), (resent.Accepted, resent.Duplicates));
        await ClusterStorage.SyncReplicasAsync(Cluster, database);
        Assert.Equal(20, await RawRowsAsync(database));
        Assert.Equal(20, (await second.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task A_duplicate_that_got_past_dedup_is_stored_twice_on_its_groups_shard_and_counted_once_by_every_read()
    {
        // Two instances without a shared dedup store: the second cannot know the first stored the batch.
        using var first = ClusterStorage.Host(fixture.DefaultNode, await fixture.MigratedDatabaseAsync());
        var database = ClusterStorage.DatabaseOf(first);
        using var second = ClusterStorage.Host(Cluster.Shards[1][0], database);
        var batch = Events("twice", 30, groups: 10);
        try
        {
            // No background merge may collapse the copies before the reads: the reads alone must not count them twice.
            await OnEveryNodeAsync("SYSTEM STOP MERGES");
            Assert.Equal(30, (await ContractBody.ReadAsync(await first.PostAsync(batch))).Accepted);
            Assert.Equal(30, (await ContractBody.ReadAsync(await second.PostAsync(batch))).Accepted);
            await ClusterStorage.SyncReplicasAsync(Cluster, database);

            // Both copies of each event are stored, side by side on the shard of its group.
            Assert.Equal(60, await RawRowsAsync(database));
            foreach (var replicas in Cluster.Shards)
            {
                Assert.Equal(0, await replicas[0].Endpoint.ScalarAsync(
                    $"SELECT count() FROM (SELECT event_id, count() AS copies FROM {database}.events_local GROUP BY event_id HAVING copies != 2)"));
            }

            // g0 holds events 0, 10 and 20, from users u0, u1 and u2; its plan came last from event 20 (p0).
            var profile = await ReadAsync(first, "/api/groups/g0");
            Assert.Equal(3, profile["member_count"]!.GetValue<long>());
            Assert.Equal("p0", profile["traits"]!["plan"]!.GetValue<string>());
            Assert.Equal(3, (await ReadAsync(first, "/api/groups/g0/users"))["items"]!.AsArray().Count);
            Assert.Equal(3, (await ReadAsync(first, "/api/groups/g0/traits/seq/history"))["items"]!.AsArray().Count);
            Assert.Equal(10, (await ReadAsync(first, "/api/users/u0/groups"))["items"]!.AsArray().Count);
            Assert.Equal(10, (await ReadAsync(first, "/api/groups?group_type=Account"))["items"]!.AsArray().Count);
            var counts = await ReadAsync(first, "/api/traits/plan/counts");
            Assert.Equal(10, counts["buckets"]!.AsArray().Sum(b => b!["groups"]!.GetValue<long>()) + counts["other"]!.GetValue<long>());
            Assert.Equal(30, (await second.Store.CountAsync("acme", default)).Events);
        }
        finally
        {
            await OnEveryNodeAsync("SYSTEM START MERGES");
        }
    }

    /// <summary>Event rows as stored, before any merge collapses a duplicate: on the first replica of each shard.</summary>
    private async Task<long> RawRowsAsync(string database)
    {
        long rows = 0;
        foreach (var replicas in Cluster.Shards)
        {
            rows += await replicas[0].Endpoint.ScalarAsync($"SELECT count() FROM {database}.events_local");
        }

        return rows;
    }

    private async Task OnEveryNodeAsync(string statement)
    {
        foreach (var node in Cluster.Nodes)
        {
            await node.Endpoint.QueryAsync(statement);
        }
    }

    private static async Task<HashSet<string>> GroupsAsync(ClickHouseServer node, string table) =>
        [.. (await ClusterStorage.RowsAsync(node, $"SELECT DISTINCT group_id FROM {table} FORMAT JSONEachRow")).Select(row => row.GetProperty("group_id").GetString()!)];

    private static async Task<JsonNode> ReadAsync(IngestHost host, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.Token("acme", PlatformScopes.AnalyticsRead));
        using var response = await host.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }
}
