using System.Diagnostics;
using System.Net;
using Platform.Tests.Integration;
using Platform.Tests.Servers;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Gateway;

/// <summary>
/// Two gateway instances sharing one real redis-server, in front of one real ingest: the buckets are cluster-wide
/// while Redis answers, and each instance falls back to its own buckets when Redis is gone. A database of the shared
/// Redis, or a server of the test's own for the test that stops it.
/// </summary>
public sealed class RedisRateLimitTests(RedisFixture redis) : IClassFixture<RedisFixture>, IDisposable
{
    private IngestHost _ingest = null!;
    private RedisServer? _own;
    private GatewayTokens _tokens = null!;
    private GatewayHost _first = null!;
    private GatewayHost _second = null!;

    private async Task StartAsync(bool ownRedis = false)
    {
        string connectionString;
        if (ownRedis)
        {
            _own = await RedisServer.StartAsync();
            connectionString = _own.ConnectionString;
        }
        else
        {
            connectionString = (await redis.NewDatabaseAsync()).ConnectionString;
        }

        _ingest = new IngestHost();
        _tokens = new GatewayTokens(_ingest.KeyDirectory);
        var settings = new Dictionary<string, string?>
        {
            ["Redis:ConnectionString"] = connectionString,
            ["RateLimiting:RequestsPerSecond"] = "0.01",
            ["RateLimiting:Burst"] = "4",
            ["RateLimiting:RedisRetryInterval"] = "00:00:01",
        };
        _first = new GatewayHost(_ingest.Client.BaseAddress!, _tokens.PublicKeyFile, settings);
        _second = new GatewayHost(_ingest.Client.BaseAddress!, _tokens.PublicKeyFile, settings);
    }

    public void Dispose()
    {
        _first?.Dispose();
        _second?.Dispose();
        _ingest?.Dispose();
        _own?.Dispose();
    }

    private async Task<HttpStatusCode> PostAsync(GatewayHost gateway, string tenant, int user)
    {
        using var response = await GatewayFixture.PostAsync(gateway.Client, Batch(1, _ => Event(userId: $"u{user}")), _tokens.Valid(tenant));
        return response.StatusCode;
    }

    [Fact]
    public async Task Two_gateways_draw_from_one_bucket_per_tenant()
    {
        await StartAsync();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            statuses.Add(await PostAsync(i % 2 == 0 ? _first : _second, "shared", i));
        }

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.OK, 4), statuses);
        Assert.Equal(HttpStatusCode.TooManyRequests, await PostAsync(_first, "shared", 98));
        Assert.Equal(HttpStatusCode.TooManyRequests, await PostAsync(_second, "shared", 99));
    }

    [Fact]
    public async Task A_cluster_refusal_carries_retry_after()
    {
        await StartAsync();
        for (var i = 0; i < 4; i++)
        {
            await PostAsync(_first, "retry", i);
        }

        using var refused = await GatewayFixture.PostAsync(_second.Client, Batch(1), _tokens.Valid("retry"));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(100));
    }

    [Fact]
    public async Task With_redis_stopped_each_gateway_falls_back_to_its_own_local_limits()
    {
        await StartAsync(ownRedis: true);
        // Spend the tenant's shared bucket while Redis answers.
        for (var i = 0; i < 4; i++)
        {
            await PostAsync(_first, "fallback", i);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await PostAsync(_second, "fallback", 50));

        _own!.Stop();
        var elapsed = Stopwatch.StartNew();

        // Each instance now has a full local bucket of its own: 4 each, then 429, and never a 5xx.
        var first = new List<HttpStatusCode>();
        var second = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            first.Add(await PostAsync(_first, "fallback", 100 + i));
            second.Add(await PostAsync(_second, "fallback", 200 + i));
        }

        HttpStatusCode[] expected = [.. Enumerable.Repeat(HttpStatusCode.OK, 4), HttpStatusCode.TooManyRequests];
        Assert.Equal(expected, first);
        Assert.Equal(expected, second);
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(15), $"fallback took {elapsed.Elapsed}");
    }
}
