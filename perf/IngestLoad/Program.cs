using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

// Usage: IngestLoad <base-url> <token> [requests=2000] [events-per-request=100] [concurrency=32]
// Sends exactly <requests> requests of <events-per-request> distinct events (unique message ids), <concurrency> at a
// time, to <base-url>/api/group, and prints status counts, events/s acked and latency percentiles. Loopback only.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: IngestLoad <base-url> <token> [requests=2000] [events-per-request=100] [concurrency=32]");
    return 2;
}

var baseUrl = new Uri(args[0]);
if (!baseUrl.IsLoopback)
{
    Console.Error.WriteLine("refusing a non-loopback address: this tool only loads a local service");
    return 2;
}

var token = args[1];
var requests = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2000;
var perRequest = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 100;
var concurrency = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 32;
var run = Guid.NewGuid().ToString("N")[..8];

var bodies = new byte[requests][];
for (var r = 0; r < requests; r++)
{
    var json = new StringBuilder("[");
    for (var e = 0; e < perRequest; e++)
    {
        if (e > 0)
        {
            json.Append(',');
        }

        json.Append(CultureInfo.InvariantCulture,
            $$$"""{"group_id":"g{{{(r * 31 + e) % 5000}}}","user_id":"u{{{r % 997}}}-{{{e}}}","timestamp":"2024-05-01T12:{{{e % 60:00}}}:{{{r % 60:00}}}.{{{r % 1000000:000000}}}Z","message_id":"{{{run}}}-{{{r}}}-{{{e}}}","traits":{"group_type":"Account","name":"Group {{{e}}}","planName":"{{{(e % 3 == 0 ? "Pro" : "Basic")}}}","enrichment_employees":{{{r % 500}}}}}""");
    }

    bodies[r] = Encoding.UTF8.GetBytes(json.Append(']').ToString());
}

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };
var latencies = new double[requests];
var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
var next = -1;
var clock = Stopwatch.StartNew();

await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
{
    int r;
    while ((r = Interlocked.Increment(ref next)) < requests)
    {
        using var content = new ByteArrayContent(bodies[r]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/group") { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var started = Stopwatch.GetTimestamp();
        int status;
        try
        {
            using var response = await http.SendAsync(request);
            status = (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            status = 0;
        }

        latencies[r] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        statuses.AddOrUpdate(status, 1, static (_, n) => n + 1);
    }
}));

var elapsed = clock.Elapsed.TotalSeconds;
Array.Sort(latencies);
double Percentile(double p) => latencies[Math.Min(latencies.Length - 1, (int)(p * latencies.Length))];
var ok = statuses.GetValueOrDefault(200);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{requests} requests x {perRequest} events, {concurrency} concurrent, {elapsed:F2} s: statuses {string.Join(' ', statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}={s.Value}"))}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"acked {ok * perRequest / elapsed:F0} events/s ({ok / elapsed:F0} requests/s); latency ms p50 {Percentile(0.50):F1} p90 {Percentile(0.90):F1} p99 {Percentile(0.99):F1} max {latencies[^1]:F1}"));
return ok == requests ? 0 : 1;
