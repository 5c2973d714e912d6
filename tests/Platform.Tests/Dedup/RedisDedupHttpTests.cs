using System.Net;
using System.Text.Json.Nodes;
using Platform.Tests.Integration;
using Platform.Tests.Servers;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Dedup;

/// <summary>Ingest over HTTP with the Redis dedup store: shared across instances, and what happens while Redis is down.</summary>
public sealed class RedisDedupHttpTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private static IngestHost Host(string connectionString, string onUnavailable = "StorageBackstop") => new(new Dictionary<string, string?>
    {
        ["Dedup:Backend"] = "Redis",
        ["Dedup:Redis:ConnectionString"] = connectionString,
        ["Dedup:Redis:OnUnavailable"] = onUnavailable,
        ["Dedup:Redis:OperationTimeout"] = "00:00:00.500",
    });

    [Fact]
    public async Task A_batch_stored_through_one_instance_is_a_duplicate_at_another()
    {
        var database = await redis.NewDatabaseAsync();
        using var first = Host(database.ConnectionString);
        using var second = Host(database.ConnectionString);
        var json = Batch(5);

        using var stored = await first.PostAsync(json);
        using var retried = await second.PostAsync(json);

        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        var body = await ContractBody.ReadAsync(retried);
        Assert.Equal(0, body.Accepted);
        Assert.Equal(5, body.Duplicates);
        Assert.Equal(0, (await second.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task With_redis_down_ingest_goes_on_and_storage_collapses_the_retries()
    {
        using var server = await RedisServer.StartAsync();
        using var host = Host(server.ConnectionString);
        using (var before = await host.PostAsync(Batch(3)))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        server.Stop();
        var json = Batch(4, i => Event(userId: $"later-{i}"));
        using var first = await host.PostAsync(json);
        using var retry = await host.PostAsync(json);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(7, (await host.Store.CountAsync("acme", default)).Events);
        using var ready = await host.Client.GetAsync("/healthz/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var health = JsonNode.Parse(await ready.Content.ReadAsStringAsync())!;
        Assert.Equal("Degraded", health["status"]!.GetValue<string>());
        Assert.Equal("Degraded", health["checks"]!["dedup"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task With_redis_down_and_reject_configured_writes_get_503_with_retry_after_and_readiness_fails()
    {
        using var server = await RedisServer.StartAsync();
        using var host = Host(server.ConnectionString, onUnavailable: "Reject");
        server.Stop();

        using var response = await host.PostAsync(Batch(2));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(0, (await host.Store.CountAsync("acme", default)).Events);
        using var ready = await host.Client.GetAsync("/healthz/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
    }

    [Fact]
    public async Task A_bad_redis_setting_stops_the_service_at_start_naming_the_key()
    {
        var failure = StartFailure.Of(() => new IngestHost(new Dictionary<string, string?> { ["Dedup:Backend"] = "Redis" }));

        Assert.Contains("Dedup:Redis:ConnectionString", failure.ToString(), StringComparison.Ordinal);
    }
}
