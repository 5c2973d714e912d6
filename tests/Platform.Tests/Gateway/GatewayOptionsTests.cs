using Platform.Gateway.RateLimiting;

namespace Platform.Tests.Gateway;

/// <summary>A wrong gateway setting stops the process at start with a message naming the key.</summary>
public sealed class GatewayOptionsTests
{
    private static string StartFailure(Dictionary<string, string?> settings)
    {
        var keys = Directory.CreateTempSubdirectory("platform-gateway-keys-").FullName;
        try
        {
            Platform.ServiceDefaults.Auth.DevelopmentKeys.EnsureKeyPair(keys);
            var tokens = new GatewayTokens(keys);
            var error = Assert.ThrowsAny<Exception>(() =>
            {
                using var gateway = new GatewayHost(new Uri("http://127.0.0.1:9"), tokens.PublicKeyFile, settings);
            });
            return error.ToString();
        }
        finally
        {
            Directory.Delete(keys, recursive: true);
        }
    }

    [Theory]
    [InlineData("RateLimiting:Burst", "0", "RateLimiting:Burst must be between 1 and")]
    [InlineData("RateLimiting:RequestsPerSecond", "2.5", "RateLimiting:RequestsPerSecond must be a whole number")]
    [InlineData("RateLimiting:Tenants:acme:RequestsPerSecond", "-1", "RateLimiting:Tenants:acme:RequestsPerSecond must be above 0")]
    [InlineData("BodyLimit:MaxBodyBytes", "10", "BodyLimit:MaxBodyBytes must be between")]
    [InlineData("Proxy:IngestAddresses:0", "ingest:8081", "Proxy:IngestAddresses:0 must be an absolute http(s) address")]
    [InlineData("Proxy:HealthCheckPath", "healthz", "Proxy:HealthCheckPath must start with '/'")]
    [InlineData("Redis:ConnectionString", "127.0.0.1:6379,unknownoption=1", "Redis:ConnectionString cannot be parsed")]
    [InlineData("Headers:RequestIdHeader", "X Request", "Headers:RequestIdHeader must be a header name")]
    public void A_wrong_setting_stops_the_gateway_naming_the_key(string key, string value, string expected)
    {
        var failure = StartFailure(new Dictionary<string, string?> { [key] = value });

        Assert.Contains(expected, failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(100, 200, 200, 100, 1_000)]
    [InlineData(1, 5, 5, 1, 1_000)]
    [InlineData(0.5, 1, 1, 1, 2_000)]
    [InlineData(0.01, 3, 3, 1, 100_000)]
    public void A_rate_and_burst_become_a_token_bucket(double rate, int burst, int tokenLimit, int tokensPerPeriod, int periodMilliseconds)
    {
        var bucket = TokenBucket.From(rate, burst);

        Assert.Equal(new TokenBucket(tokenLimit, tokensPerPeriod, TimeSpan.FromMilliseconds(periodMilliseconds)), bucket);
    }
}
