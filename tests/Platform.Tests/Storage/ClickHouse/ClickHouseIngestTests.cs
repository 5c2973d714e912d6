using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Platform.Tests.Integration;

namespace Platform.Tests.Storage.ClickHouse;

/// <summary>Ingest over HTTP on ClickHouse: outages answer 503 and lose nothing acked; bursts with retries store each event once.</summary>
[Collection(ClickHouseServerGroup.Name)]
public sealed class ClickHouseIngestTests(ClickHouseFixture fixture)
{
    private static string Request(string prefix, int index, int events) =>
        "[" + string.Join(",", Enumerable.Range(0, events).Select(i =>
            $$$"""{"group_id":"g{{{(index + i) % 7}}}","user_id":"u{{{index}}}-{{{i}}}","timestamp":"2024-05-01T12:00:{{{i % 60:00}}}Z","message_id":"{{{prefix}}}-{{{index}}}-{{{i}}}","traits":{"group_type":"Account","seq":{{{index}}}}}""")) + "]";

    private static async Task<HashSet<string>> StoredMessageIdsAsync(ClickHouseServer server, string database)
    {
        using var http = new HttpClient();
        using var content = new StringContent($"SELECT DISTINCT message_id AS m FROM {database}.events FORMAT JSONEachRow");
        using var response = await http.PostAsync(new Uri($"http://127.0.0.1:{server.HttpPort}/"), content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return body.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("m").GetString()!)
            .ToHashSet(StringComparer.Ordinal);
    }

    [Fact]
    public async Task While_clickhouse_is_down_requests_get_503_with_retry_after_and_ingest_resumes_when_it_returns()
    {
        using var server = await ClickHouseServer.StartAsync();
        var database = ClickHouseFixture.NewDatabase();
        using var host = ClickHouseHosts.Create(server, new Dictionary<string, string?>
        {
            ["Storage:ClickHouse:Database"] = database,
            ["Storage:ClickHouse:Timeout"] = "00:00:02",
            ["Writer:InsertTimeout"] = "00:00:03",
        });
        var acked = new ConcurrentBag<string>();
        var statuses = new ConcurrentBag<HttpStatusCode>();
        var index = 0;

        async Task SendAsync()
        {
            var n = Interlocked.Increment(ref index);
            using var response = await host.PostAsync(Request("o", n, 10));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                foreach (var i in Enumerable.Range(0, 10))
                {
                    acked.Add($"o-{n}-{i}");
                }
            }
            else
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.NotNull(response.Headers.RetryAfter);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => SendAsync()));
        server.Stop();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => SendAsync()));
        using (var ready = await host.Client.GetAsync("/healthz/ready"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        await server.StartAgainAsync();
        var resumed = false;
        for (var attempt = 0; attempt < 50 && !resumed; attempt++)
        {
            var n = Interlocked.Increment(ref index);
            using var response = await host.PostAsync(Request("o", n, 10));
            resumed = response.StatusCode == HttpStatusCode.OK;
            if (resumed)
            {
                acked.Add($"o-{n}-0");
            }
            else
            {
                await Task.Delay(200);
            }
        }

        Assert.True(resumed, "ingest did not resume after ClickHouse returned");
        Assert.Contains(HttpStatusCode.ServiceUnavailable, statuses);
        var stored = await StoredMessageIdsAsync(server, database);
        Assert.DoesNotContain(acked, id => !stored.Contains(id));
    }

    [Fact]
    public async Task A_burst_of_concurrent_requests_with_retries_stores_exactly_the_acked_events()
    {
        var database = ClickHouseFixture.NewDatabase();
        using var host = ClickHouseHosts.Create(fixture.Server, new Dictionary<string, string?> { ["Storage:ClickHouse:Database"] = database });
        const int requests = 60, eventsPerRequest = 50;
        // 30% of the requests are sent again, as a client retrying after a lost answer would.
        var sends = Enumerable.Range(0, requests).Concat(Enumerable.Range(0, requests).Where(i => i % 10 < 3)).OrderBy(i => (i * 7919) % 101).ToArray();
        var acked = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        using var gate = new SemaphoreSlim(8);

        await Task.WhenAll(sends.Select(async n =>
        {
            await gate.WaitAsync();
            try
            {
                using var response = await host.PostAsync(Request("b", n, eventsPerRequest));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                foreach (var i in Enumerable.Range(0, eventsPerRequest))
                {
                    acked[$"b-{n}-{i}"] = true;
                }
            }
            finally
            {
                gate.Release();
            }
        }));

        Assert.Equal(requests * eventsPerRequest, acked.Count);
        Assert.Equal(acked.Count, (await host.Store.CountAsync("acme", default)).Events);
        Assert.Equal(acked.Keys.ToHashSet(StringComparer.Ordinal), await StoredMessageIdsAsync(fixture.Server, database));
    }

    [Theory]
    [InlineData("Storage:ClickHouse:ConnectionString", "")]
    [InlineData("Storage:ClickHouse:Database", "bad-name; DROP TABLE x")]
    [InlineData("Storage:ClickHouse:Cluster", "a b")]
    public void A_bad_clickhouse_setting_stops_the_service_at_start_naming_the_key(string key, string value)
    {
        var failure = StartFailure.Of(() => ClickHouseHosts.Create(fixture.Server, new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(key, failure.ToString(), StringComparison.Ordinal);
    }
}
