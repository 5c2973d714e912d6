using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Platform.ServiceDefaults.Auth;
using Platform.Tests.Gateway;
using Platform.Tests.Integration;
using Platform.Tests.Servers;
using Platform.Tests.Storage.ClickHouse;

namespace Platform.Tests.Telemetry;

/// <summary>
/// The dashboard against a real Prometheus: it scrapes both services as real processes (the gateway in front of an ingest
/// on ClickHouse, the production layout, and an ingest on embedded DuckDB, whose write queue the dashboard charts too)
/// while known traffic flows, and every expression of the dashboard must parse and return data through Prometheus's HTTP
/// API. The traffic is chosen so each one has something to show: stored, duplicate and invalid events, reads, a tenant
/// over its rate limit, and Redis stalling under the gateway's rate limits (local fallbacks).
/// </summary>
[Collection(ClickHouseServerGroup.Name)]
public sealed class DashboardPrometheusTests(ClickHouseFixture clickHouse) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("platform-dashboard-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file still being closed; the temp directory is cleaned by the OS.
        }
    }

    [Fact]
    public async Task Every_dashboard_expression_parses_and_returns_data_from_both_services()
    {
        var keys = Path.Combine(_root, "keys");
        DevelopmentKeys.EnsureKeyPair(keys);
        using var redis = await RedisServer.StartAsync();
        var logged = IngestProcess.StartAsync(keys, new Dictionary<string, string>
        {
            ["Storage:Backend"] = "ClickHouse",
            ["Storage:ClickHouse:ConnectionString"] = clickHouse.Server.ConnectionString,
            ["Storage:ClickHouse:Database"] = ClickHouseFixture.NewDatabase(),
            ["Log:Directory"] = Path.Combine(_root, "log"),
            ["Shipper:MaxBlockAge"] = "00:00:00.200",
        });
        var embedded = IngestProcess.StartAsync(keys, new Dictionary<string, string>
        {
            ["Storage:DuckDb:DataDirectory"] = Path.Combine(_root, "duckdb"),
        });
        using var clickHouseIngest = await logged;
        using var duckDbIngest = await embedded;
        using var gateway = await IngestProcess.StartGatewayAsync(keys, new Dictionary<string, string>
        {
            ["Proxy:IngestAddresses:0"] = clickHouseIngest.Client.BaseAddress!.ToString(),
            ["Proxy:HealthCheckInterval"] = "00:00:01",
            ["Redis:ConnectionString"] = redis.ConnectionString,
            ["RateLimiting:RedisRetryInterval"] = "00:00:01",
            // Only the rate limiter talks to Redis, so a stalled Redis is met by a limiter call, which counts the fallback.
            ["Revocation:CheckRedis"] = "false",
            ["RateLimiting:Tenants:slow:RequestsPerSecond"] = "0.01",
            ["RateLimiting:Tenants:slow:Burst"] = "1",
        });
        using var prometheus = await PrometheusServer.StartAsync(new Dictionary<string, int[]>
        {
            ["gateway"] = [gateway.Port],
            ["ingest"] = [clickHouseIngest.Port, duckDbIngest.Port],
        });
        await prometheus.WaitForTargetsUpAsync(3, TimeSpan.FromSeconds(30));
        var expressions = DashboardExpressions();
        Assert.NotEmpty(expressions);

        // Waves of traffic a second and a half apart (rates need two scrapes that differ), until every expression has
        // data or the bound passes. Redis stalls after the second wave: the gateway's calls time out and it decides locally.
        var missing = new Dictionary<string, string>();
        var deadline = Stopwatch.StartNew();
        for (var wave = 0; ; wave++)
        {
            await SendWaveAsync(wave, gateway, duckDbIngest);
            if (wave == 1)
            {
                redis.Pause();
            }

            await Task.Delay(1500);
            missing.Clear();
            foreach (var (panel, expression) in expressions)
            {
                if (await WithoutDataAsync(prometheus, expression) is { } why)
                {
                    missing[$"{panel}: {expression}"] = why;
                }
            }

            if (missing.Count == 0 && wave >= 3 && await MarksAsync(prometheus) is null)
            {
                break;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(90),
                "expressions without data after 90 s of traffic:\n" + string.Join('\n', missing.Select(m => $"{m.Key} -> {m.Value}"))
                + $"\ntraffic not seen: {await MarksAsync(prometheus)}"
                + "\ngateway's output:\n" + gateway.Output[Math.Max(0, gateway.Output.Length - 4000)..]);
        }

        Assert.Null(await MarksAsync(prometheus));
    }

    /// <summary>The traffic's own marks, beyond "some data": refusals by reason, 429s and Redis fallbacks counted; null when all are there.</summary>
    private static async Task<string?> MarksAsync(PrometheusServer prometheus)
    {
        string[] positive =
        [
            "sum(increase(platform_ingest_events_rejected_total{reason=\"invalid\"}[5m]))",
            "sum(increase(platform_gateway_rate_limited_total[5m]))",
            "sum(increase(platform_gateway_rate_limit_local_fallbacks_total[5m]))",
        ];
        foreach (var expression in positive)
        {
            if (await ValueAsync(prometheus, expression) <= 0)
            {
                return expression + " is not above 0";
            }
        }

        // Only the ClickHouse ingest has a write-ahead log.
        return await ValueAsync(prometheus, "count(platform_ingest_log_bytes)") == 1 ? null : "count(platform_ingest_log_bytes) is not 1";
    }

    /// <summary>Every query of every panel, Grafana's interval variables replaced by what they would be here.</summary>
    private static List<(string Panel, string Expression)> DashboardExpressions()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(MetricsTests.DashboardPath))!;
        return dashboard["panels"]!.AsArray()
            .SelectMany(panel => (panel!["targets"] as JsonArray ?? []).Select(target => (
                Panel: (string)panel["title"]!,
                Expression: ((string)target!["expr"]!)
                    .Replace("$__rate_interval", "1m", StringComparison.Ordinal)
                    .Replace("$__interval", "15s", StringComparison.Ordinal)
                    .Replace("$__range", "5m", StringComparison.Ordinal))))
            .ToList();
    }

    /// <summary>Why the expression has no data (a parse error, an empty result, only NaN), or null when it has.</summary>
    private static async Task<string?> WithoutDataAsync(PrometheusServer prometheus, string expression)
    {
        var answer = await prometheus.QueryAsync(expression);
        if ((string?)answer["status"] != "success")
        {
            return $"{answer["errorType"]}: {answer["error"]}";
        }

        var result = answer["data"]!["result"]!.AsArray();
        if (result.Count == 0)
        {
            return "no series";
        }

        return result.Any(series => (string?)series!["value"]![1] is { } value && value != "NaN") ? null : "only NaN";
    }

    private static async Task<double> ValueAsync(PrometheusServer prometheus, string expression)
    {
        var result = (await prometheus.QueryAsync(expression))["data"]!["result"]!.AsArray();
        return result.Count == 0 ? 0 : double.Parse((string)result[0]!["value"]![1]!, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// One wave: through the gateway (to the ClickHouse ingest) new events, the same again (duplicates), an invalid event,
    /// a read, and two requests of the rate-limited tenant; straight to the DuckDB ingest new, duplicate and invalid events.
    /// </summary>
    private static async Task SendWaveAsync(int wave, IngestProcess gateway, IngestProcess duckDb)
    {
        var batch = Batch(wave, 5);
        var invalid = """[{"group_id":"g","user_id":"","timestamp":"2024-05-01T12:00:00Z","traits":{"group_type":"Account"}}]""";
        foreach (var (service, tenant) in new[] { (gateway, "acme"), (duckDb, "acme") })
        {
            await PostAsync(service, tenant, batch, HttpStatusCode.OK);
            await PostAsync(service, tenant, batch, HttpStatusCode.OK);
            await PostAsync(service, tenant, invalid, HttpStatusCode.BadRequest);
        }

        using (var read = new HttpRequestMessage(HttpMethod.Get, "/api/groups/dashboard-group-0"))
        {
            read.Headers.Authorization = new AuthenticationHeaderValue("Bearer", DevelopmentKeys.MintToken(gateway.KeyDirectory, IngestHost.Issuer,
                IngestHost.Audience, "acme", [PlatformScopes.AnalyticsRead], TimeSpan.FromMinutes(10)));
            using var answer = await gateway.Client.SendAsync(read);
        }

        await PostAsync(gateway, "slow", Batch(wave, 1, "slow"), null);
        await PostAsync(gateway, "slow", Batch(wave, 1, "slow"), null);
    }

    private static async Task PostAsync(IngestProcess service, string tenant, string json, HttpStatusCode? expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/group") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", service.Token(tenant));
        using var response = await service.Client.SendAsync(request);
        if (expected is { } status)
        {
            Assert.True(response.StatusCode == status, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static string Batch(int wave, int events, string prefix = "dashboard") =>
        "[" + string.Join(",", Enumerable.Range(0, events).Select(i =>
            $$$"""{"group_id":"{{{prefix}}}-group-{{{i % 2}}}","user_id":"user-{{{wave}}}-{{{i}}}","timestamp":"2024-05-01T12:00:00Z","traits":{"group_type":"Account","plan":"p{{{wave}}}"}}""")) + "]";
}
