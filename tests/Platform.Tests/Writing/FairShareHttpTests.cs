using System.Net;
using Platform.Tests.Integration;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Writing;

/// <summary>
/// The fair write path through the real ingest over HTTP, on the embedded DuckDB backend: its write queue
/// (Writer:MaxQueuedEvents) held full by holding the inserts, so what is queued stays queued while the test looks.
/// </summary>
public sealed class FairShareHttpTests
{
    private static IngestHost Host(string fairShareAbove = "0.5") => new(new Dictionary<string, string?>
    {
        ["Writer:MaxQueuedEvents"] = "1000",
        ["Writer:FairShareAbove"] = fairShareAbove,
    });

    private static string Events(int count, string prefix) => Batch(count, i => Event(userId: $"{prefix}-{i}"));

    /// <summary>
    /// Holds the store's inserts and queues 600 events of "flood" and 10 of "quiet": 610 of 1,000, with two tenants
    /// holding some, so a fair share is 500 and the flood holds more. Returns the queued requests, answered once released.
    /// </summary>
    private static async Task<List<Task<HttpResponseMessage>>> CongestAsync(IngestHost host)
    {
        host.Store.HoldInserts();
        var queued = new List<Task<HttpResponseMessage>>
        {
            host.PostAsync(Events(600, "flood-0"), "flood"),
            host.PostAsync(Events(10, "quiet-0"), "quiet"),
        };
        await host.WaitForQueuedEventsAsync(610);
        return queued;
    }

    [Fact]
    public async Task On_a_congested_queue_a_tenant_holding_its_fair_share_gets_429_while_a_tenant_under_it_is_stored()
    {
        using var host = Host();
        var queued = await CongestAsync(host);

        // 610 of 1,000 queued, two tenants holding some: a fair share is 500, and the flood holds 600.
        var refused = await host.PostAsync(Events(100, "flood-1"), "flood");
        queued.Add(host.PostAsync(Events(100, "quiet-1"), "quiet"));
        await host.WaitForQueuedEventsAsync(710);
        host.Store.ReleaseInserts();

        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Contains("fair share", (await ContractBody.ReadAsync(refused)).Message, StringComparison.Ordinal);
        foreach (var response in await Task.WhenAll(queued))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(600, (await host.Store.CountAsync("flood", default)).Events);
        Assert.Equal(110, (await host.Store.CountAsync("quiet", default)).Events);
    }

    [Fact]
    public async Task A_tenant_alone_may_fill_the_whole_queue_and_only_then_gets_503()
    {
        using var host = Host();
        host.Store.HoldInserts();
        var queued = new List<Task<HttpResponseMessage>>();
        for (var i = 0; i < 10; i++)
        {
            queued.Add(host.PostAsync(Events(100, $"flood-{i}"), "flood"));
            await host.WaitForQueuedEventsAsync((i + 1) * 100);
        }

        var full = await host.PostAsync(Events(1, "flood-10"), "flood");
        host.Store.ReleaseInserts();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, full.StatusCode);
        Assert.Contains("write queue is full", (await ContractBody.ReadAsync(full)).Message, StringComparison.Ordinal);
        Assert.All(await Task.WhenAll(queued), response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        Assert.Equal(1000, (await host.Store.CountAsync("flood", default)).Events);
    }

    [Fact]
    public async Task A_request_refused_for_its_tenants_share_is_stored_when_sent_again_later()
    {
        using var host = Host();
        var queued = await CongestAsync(host);
        var body = Events(100, "flood-1");
        Assert.Equal((HttpStatusCode)429, (await host.PostAsync(body, "flood")).StatusCode);
        host.Store.ReleaseInserts();
        await Task.WhenAll(queued);

        var retry = await host.PostAsync(body, "flood");

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(100, (await ContractBody.ReadAsync(retry)).Accepted);
    }
}
