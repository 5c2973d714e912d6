using System.Net;
using Platform.Tests.Integration;
using Platform.Tests.Servers;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Limits;

/// <summary>
/// Two real ingest instances sharing one real redis-server (section "Redis"): a tenant's events-per-second bucket is
/// cluster-wide while Redis answers, and each instance decides alone when Redis is gone. A database of the shared Redis,
/// or a server of the test's own for the test that stops it.
/// </summary>
public sealed class RedisEventLimitTests(RedisFixture redis) : IClassFixture<RedisFixture>, IDisposable
{
    private RedisDatabase _redis = null!;
    private RedisServer? _own;
    private IngestHost _first = null!;
    private IngestHost _second = null!;

    private async Task StartAsync(bool ownRedis = false)
    {
        if (ownRedis)
        {
            _own = await RedisServer.StartAsync();
            _redis = new RedisDatabase(_own.ConnectionString, 0);
        }
        else
        {
            _redis = await redis.NewDatabaseAsync();
        }

        var settings = new Dictionary<string, string?>
        {
            ["Redis:ConnectionString"] = _redis.ConnectionString,
            ["EventLimits:EventsPerSecond"] = "0.01",
            ["EventLimits:Burst"] = "10",
            ["EventLimits:RedisRetryInterval"] = "00:00:01",
        };
        _first = new IngestHost(settings);
        _second = new IngestHost(settings);
    }

    public void Dispose()
    {
        _first?.Dispose();
        _second?.Dispose();
        _own?.Dispose();
    }

    private static Task<HttpResponseMessage> PostAsync(IngestHost host, string tenant, int events, string prefix) =>
        host.PostAsync(Batch(events, i => Event(userId: $"{prefix}-{i}")), tenant);

    [Fact]
    public async Task Two_instances_draw_from_one_bucket_per_tenant()
    {
        await StartAsync();
        var first = await PostAsync(_first, "shared", 10, "a");
        var second = await PostAsync(_second, "shared", 1, "b");
        var other = await PostAsync(_second, "other", 10, "c");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal((HttpStatusCode)429, second.StatusCode);
        // The bucket is empty after 10 events: one token comes back in 100 s at 0.01 events/s.
        Assert.InRange(second.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 99, 100);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Contains(await _redis.KeysAsync(), key => System.Text.Encoding.UTF8.GetString(key) == "platform:ingest:events:shared");
    }

    [Fact]
    public async Task Without_redis_each_instance_limits_with_its_own_buckets_and_answers()
    {
        await StartAsync(ownRedis: true);
        _own!.Stop();

        var first = await PostAsync(_first, "fallback", 10, "a");
        var second = await PostAsync(_second, "fallback", 10, "b");
        var third = await PostAsync(_second, "fallback", 1, "c");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal((HttpStatusCode)429, third.StatusCode);
    }
}
