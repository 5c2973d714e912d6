using Platform.Perf.LoadGen.Engine;
using Platform.Tests.Gateway;

namespace Platform.Tests.Perf;

/// <summary>
/// The fault suite's retrying client (LoadGen --retry): which answers it counts as outside the contract, and that through
/// a healthy gateway every batch is delivered once with one attempt each. The faults themselves run in perf/Faults/run.sh.
/// </summary>
public sealed class RetryingClientTests
{
    [Theory]
    [InlineData(200, false, false)]
    [InlineData(0, false, false)]
    [InlineData(503, true, true)]
    [InlineData(429, true, true)]
    [InlineData(400, false, true)]
    public void Answers_the_contract_lists_count_as_in_the_contract(int status, bool retryAfter, bool contractBody)
    {
        Assert.True(DeliveryLog.InContract(status, retryAfter, contractBody));
    }

    [Theory]
    [InlineData(502, false, false)]
    [InlineData(504, false, false)]
    [InlineData(503, false, true)]
    [InlineData(503, true, false)]
    [InlineData(500, true, true)]
    public void A_bare_gateway_error_or_a_503_without_Retry_After_or_body_is_outside_the_contract(int status, bool retryAfter, bool contractBody)
    {
        Assert.False(DeliveryLog.InContract(status, retryAfter, contractBody));
    }

    [Fact]
    public async Task Through_a_healthy_gateway_every_batch_is_delivered_at_its_first_attempt()
    {
        using var platform = new GatewayFixture();
        await SmokeLoad.WarmUpAsync(platform.Gateway.Address, platform.Tokens.Valid("warm-up"));
        using var engine = new LoadEngine(SmokeLoad.Settings(platform.Gateway.Address, platform.Tokens.Valid("retrying")) with { Retry = true, DuplicateRatio = 0 });

        var result = await engine.RunAsync();

        var deliveries = engine.Deliveries.Deliveries;
        Assert.Equal(result.Requests, deliveries.Count);
        Assert.All(deliveries, d => Assert.True(d.Delivered && d.Attempts == 1, $"attempts {d.Attempts}, last status {d.LastStatus}"));
        Assert.Equal(0, engine.Deliveries.NonContract);
        Assert.Equal(result.DistinctEventsAcked, (await platform.Ingest.Store.CountAsync("retrying", default)).Events);
    }
}
