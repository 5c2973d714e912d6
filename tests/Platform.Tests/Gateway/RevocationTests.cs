using System.Net;
using Platform.Tests.Auth;
using Platform.Tests.Integration;
using Platform.Tests.Servers;
using StackExchange.Redis;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Gateway;

/// <summary>
/// Revocation is checked on every request, whatever the token cache remembers: a token the gateway has already
/// accepted (and so no longer verifies) is refused as soon as its jti is revoked in Redis.
/// </summary>
public sealed class RevocationTests(RedisFixture redis) : IClassFixture<RedisFixture>, IAsyncLifetime, IDisposable
{
    private RedisDatabase _redis = null!;
    private IngestHost _ingest = null!;
    private GatewayTokens _tokens = null!;
    private GatewayHost _gateway = null!;

    public async Task InitializeAsync()
    {
        _redis = await redis.NewDatabaseAsync();
        _ingest = new IngestHost();
        _tokens = new GatewayTokens(_ingest.KeyDirectory);
        _gateway = new GatewayHost(_ingest.Client.BaseAddress!, _tokens.PublicKeyFile, new Dictionary<string, string?>
        {
            ["Redis:ConnectionString"] = _redis.ConnectionString,
        });
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _gateway?.Dispose();
        _ingest?.Dispose();
    }

    [Fact]
    public async Task An_accepted_token_is_refused_once_its_jti_is_revoked_in_redis()
    {
        var jti = Guid.NewGuid().ToString("N");
        var token = _tokens.Sign(GatewayTokens.Payload("revoked-later", change: p => p["jti"] = jti));
        for (var i = 0; i < 2; i++)
        {
            using var accepted = await GatewayFixture.PostAsync(_gateway.Client, Batch(1, _ => Event(userId: $"u{i}")), token);
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        await using (var redis = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString))
        {
            await redis.GetDatabase().StringSetAsync("platform:gateway:revoked:" + jti, "1", TimeSpan.FromMinutes(5));
        }

        using var refused = await GatewayFixture.PostAsync(_gateway.Client, Batch(1, _ => Event(userId: "u9")), token);

        Assert.Equal("access token revoked", await ContractAssert.ErrorAsync(refused, HttpStatusCode.Unauthorized));
        Assert.Equal(2, (await _ingest.Store.CountAsync("revoked-later", default)).Events);
    }
}
