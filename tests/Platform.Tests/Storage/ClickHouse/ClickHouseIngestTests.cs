using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Platform.Tests.Integration;
using Platform.Tests.Servers;

namespace Platform.Tests.Storage.ClickHouse;

/// <summary>Ingest over HTTP on ClickHouse: outages are absorbed by the write-ahead log and lose nothing acked; bursts with retries store each event once.</summary>
[Collection(ClickHouseServerGroup.Name)]
public sealed class ClickHouseIngestTests(ClickHouseFixture fixture)
{
    internal static string Request(string prefix, int index, int events) =>
        "[" + string.Join(",", Enumerable.Range(0, events).Select(i =>
            $$$"""{"group_id":"g{{{(index + i) % 7}}}","user_id":"u{{{index}}}-{{{i}}}","timestamp":"2024-05-01T12:00:{{{i % 60:00}}}Z","message_id":"{{{prefix}}}-{{{index}}}-{{{i}}}","traits":{"group_type":"Account","seq":{{{index}}}}}""")) + "]";

    internal static async Task<HashSet<string>> StoredMessageIdsAsync(ClickHouseEndpoint server, string database)
    {
        var body = await server.QueryAsync($"SELECT DISTINCT message_id AS m FROM {database}.events FORMAT JSONEachRow");
        return body.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("m").GetString()!)
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// Ingest on <paramref name="server"/>, which the test will stop: durable acks, short storage timeouts and quick
    /// insert retries, so an outage is seen and ridden out within seconds; <paramref name="more"/> adds or overrides.
    /// </summary>
    private static IngestHost OutageHost(ClickHouseEndpoint server, string database, params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage:ClickHouse:Database"] = database,
            ["Storage:ClickHouse:Timeout"] = "00:00:02",
            ["Writer:Ack"] = "Durable",
            ["Shipper:InsertTimeout"] = "00:00:02",
            ["Shipper:MaxRetryDelay"] = "00:00:00.500",
        };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return ClickHouseHosts.Create(server, settings);
    }

    /// <summary>Polls (bounded) until storage holds every one of <paramref name="expected"/>; returns what it holds then.</summary>
    private static async Task WaitUntilReadyAsync(IngestHost host, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            using var ready = await host.Client.GetAsync("/healthz/ready");
            if (ready.StatusCode == HttpStatusCode.OK || DateTime.UtcNow > deadline)
            {
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
                return;
            }

            await Task.Delay(50);
        }
    }

    internal static async Task<HashSet<string>> WaitForStoredAsync(ClickHouseEndpoint server, string database, IReadOnlyCollection<string> expected, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var stored = await StoredMessageIdsAsync(server, database);
            if (expected.All(stored.Contains) || DateTime.UtcNow > deadline)
            {
                return stored;
            }

            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task While_clickhouse_is_down_requests_are_acked_from_the_log_readiness_stays_up_and_everything_ships_once_when_it_returns()
    {
        using var server = await ClickHouseServer.StartAsync();
        var database = ClickHouseFixture.NewDatabase();
        using var host = OutageHost(server.Endpoint, database, ("Shipper:MaxBlockAge", "00:00:00.100"));
        var acked = new ConcurrentBag<string>();
        var index = 0;

        async Task SendAsync()
        {
            var n = Interlocked.Increment(ref index);
            using var response = await host.PostAsync(Request("o", n, 10));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            foreach (var i in Enumerable.Range(0, 10))
            {
                acked.Add($"o-{n}-{i}");
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => SendAsync()));
        server.Kill();
        // The outage is invisible to clients: every request is durable in the log and answered 200.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => SendAsync()));
        await Task.Delay(1_000);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => SendAsync()));
        using (var ready = await host.Client.GetAsync("/healthz/ready"))
        {
            var health = await ready.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Contains("Degraded", health, StringComparison.Ordinal);
        }

        await server.StartAgainAsync();
        var stored = await WaitForStoredAsync(server.Endpoint, database, acked.ToArray(), TimeSpan.FromSeconds(60));
        Assert.Equal(acked.ToHashSet(StringComparer.Ordinal), stored);
        Assert.Equal(acked.Count, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task A_queryable_ack_during_an_outage_answers_503_and_the_retry_after_it_returns_is_a_duplicate_stored_once()
    {
        using var server = await ClickHouseServer.StartAsync();
        var database = ClickHouseFixture.NewDatabase();
        using var host = OutageHost(server.Endpoint, database, ("Writer:QueryableWait", "00:00:03"));
        server.Kill();
        var body = Request("q", 1, 10);
        void Queryable(HttpRequestMessage request) => request.Headers.Add("Prefer", "ack=queryable");

        using (var refused = await host.SendAsync(body, host.Token(), Queryable))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Contains("not yet queryable", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await server.StartAgainAsync();
        using var retried = await host.SendAsync(body, host.Token(), Queryable);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal("ack=queryable", retried.Headers.GetValues("Preference-Applied").Single());
        var answer = JsonDocument.Parse(await retried.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(0, answer.GetProperty("accepted").GetInt32());
        Assert.Equal(10, answer.GetProperty("duplicates").GetInt32());
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"q-1-{i}").ToHashSet(), await StoredMessageIdsAsync(server.Endpoint, database));
        Assert.Equal(10, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task While_clickhouse_is_down_a_query_answers_503_with_retry_after_and_answers_again_when_it_returns()
    {
        using var server = await ClickHouseServer.StartAsync();
        using var host = OutageHost(server.Endpoint, ClickHouseFixture.NewDatabase(), ("Writer:Ack", "Queryable"));
        using (var stored = await host.PostAsync(Request("r", 1, 3)))
        {
            Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        }

        server.Kill();
        using (var refused = await ReadAsync(host, "/api/groups/g1"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            var body = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
            Assert.False(body.GetProperty("success").GetBoolean());
            Assert.Contains("storage did not answer the query", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        await server.StartAgainAsync();
        using var answered = await ReadAsync(host, "/api/groups/g1");
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
    }

    private static async Task<HttpResponseMessage> ReadAsync(IngestHost host, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Bearer", host.Token("acme", Platform.ServiceDefaults.Auth.PlatformScopes.AnalyticsRead));
        return await host.Client.SendAsync(request);
    }

    [Fact]
    public async Task A_full_log_refuses_with_503_and_retry_after_turns_unready_and_takes_the_refused_request_once_storage_caught_up()
    {
        using var server = await ClickHouseServer.StartAsync();
        var database = ClickHouseFixture.NewDatabase();
        using var host = OutageHost(server.Endpoint, database, ("Log:MaxBytes", "1048576"), ("Log:SegmentBytes", "65536"), ("Shipper:MaxBlockAge", "00:00:00.050"));
        server.Kill();
        var acked = new List<string>();
        string? refusedBody = null;
        for (var n = 0; n < 200 && refusedBody is null; n++)
        {
            var body = Request("f", n, 100);
            using var response = await host.PostAsync(body);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                acked.AddRange(Enumerable.Range(0, 100).Select(i => $"f-{n}-{i}"));
                continue;
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            var refusal = await response.Content.ReadAsStringAsync();
            Assert.True(refusal.Contains("write-ahead log is full", StringComparison.Ordinal), refusal);
            refusedBody = body;
        }

        Assert.NotNull(refusedBody);
        Assert.NotEmpty(acked);
        using (var ready = await host.Client.GetAsync("/healthz/ready"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        await server.StartAgainAsync();
        var stored = await WaitForStoredAsync(server.Endpoint, database, acked, TimeSpan.FromSeconds(60));
        Assert.Equal(acked.ToHashSet(StringComparer.Ordinal), stored);
        // Ready again once the log has room (the checkpoint moves when the stored blocks' current traits are written too).
        await WaitUntilReadyAsync(host, TimeSpan.FromSeconds(30));
        // The refused request was never stored and its reservations were released: the retry is accepted whole.
        using var retried = await host.PostAsync(refusedBody);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal(100, JsonDocument.Parse(await retried.Content.ReadAsStringAsync()).RootElement.GetProperty("accepted").GetInt32());
    }

    [Fact]
    public async Task The_log_and_freshness_series_the_dashboard_charts_are_exposed_on_clickhouse()
    {
        var database = ClickHouseFixture.NewDatabase();
        using var host = ClickHouseHosts.Create(fixture.Server, new Dictionary<string, string?> { ["Storage:ClickHouse:Database"] = database });
        using (var response = await host.PostAsync(Request("m", 1, 5)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var exposed = await host.Client.GetStringAsync("/metrics");
        var logSeries = Telemetry.MetricsTests.ChartedSeries().Where(Telemetry.MetricsTests.IsLogSeries).ToList();

        Assert.NotEmpty(logSeries);
        Assert.All(logSeries, series => Assert.Matches($"(?m)^{series}[{{ ]", exposed));
        // The queryable ack above waited for the shipper: one record shipped, nothing left in the log.
        Assert.Matches(@"(?m)^platform_ingest_ship_lag_seconds_count(\{[^}]*\})? 1\b", exposed);
        Assert.Matches(@"(?m)^platform_ingest_log_bytes(\{[^}]*\})? 0\b", exposed);
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
