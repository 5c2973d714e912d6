using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Platform.Ingest.Dedup;
using Platform.Ingest.Events;
using Platform.Ingest.GroupApi;
using Platform.Ingest.Storage;
using Platform.Ingest.Storage.ClickHouse;
using Platform.Perf.LoadGen.Bodies;

// Usage: dotnet run -c Release --project perf/HotPath -- [--requests 2000] [--rounds 5]
//            [--redis 127.0.0.1:6379] [--clickhouse "Host=127.0.0.1;Port=8123;Username=default"]
// Times each stage of ingest's hot path in this process, on the load generator's 100-event bodies: parsing and
// validation, dedup (in memory; Redis when given), and the ClickHouse insert's client side (when given). For each stage
// it prints CPU time and bytes allocated per event, the median over the rounds. CPU time is the process's (all threads,
// GC included), so it is far less disturbed by other work on a shared machine than wall time is. Loopback only.
var requests = IntArg("--requests", 2000);
var rounds = IntArg("--rounds", 5);
var redis = StringArg("--redis");
var clickHouse = StringArg("--clickhouse");
const int EventsPerRequest = 100;
const string Tenant = "hotpath";

var generator = new GroupEvents(Guid.NewGuid().ToString("N")[..8]);
var bodies = new byte[requests][];
var numbers = new long[EventsPerRequest];
for (var r = 0; r < requests; r++)
{
    for (var e = 0; e < EventsPerRequest; e++)
    {
        numbers[e] = ((long)r * EventsPerRequest) + e;
    }

    var buffer = new ArrayBufferWriter<byte>(64 * 1024);
    generator.WriteBody(buffer, numbers);
    bodies[r] = buffer.WrittenSpan.ToArray();
}

var parser = new GroupEventParser(Options.Create(new GroupApiOptions()), TimeProvider.System);
var parsed = new IReadOnlyList<GroupEvent>[requests];
var results = new List<(string Stage, Measure Measure)>();

results.Add(("parse + validate + identity", Stage(rounds, requests, () =>
{
    for (var r = 0; r < requests; r++)
    {
        var outcome = parser.Parse(bodies[r], Tenant);
        if (!outcome.IsValid)
        {
            throw new InvalidOperationException("the generated body did not validate: " + outcome.Errors[0].Message);
        }

        parsed[r] = outcome.Events;
    }

    return Task.CompletedTask;
})));

// The same events as Segment batches (/v1/batch), to compare the Segment-compatible parser with the Group API's.
var segmentParser = new Platform.Ingest.Segment.SegmentParser(parser, Options.Create(new GroupApiOptions()), Options.Create(new Platform.Ingest.Segment.SegmentOptions()));
var segmentBodies = bodies.Select(SegmentBatch).ToArray();
results.Add(("parse + validate + identity, Segment batch", Stage(rounds, requests, () =>
{
    for (var r = 0; r < requests; r++)
    {
        var outcome = segmentParser.Parse(segmentBodies[r], Tenant, isBatch: true);
        if (outcome.Rejected > 0 || outcome.IsHopeless || outcome.Groups.Events.Count != EventsPerRequest)
        {
            throw new InvalidOperationException("the Segment body did not validate: " + (outcome.CallErrors.Concat(outcome.BodyErrors).FirstOrDefault()?.Message ?? "?"));
        }
    }

    return Task.CompletedTask;
})));

var keys = new UInt128[requests][];
for (var r = 0; r < requests; r++)
{
    keys[r] = [.. parsed[r].Select(e => e.Key)];
}

var dedupOptions = new DedupOptions { Window = TimeSpan.FromMinutes(10), MaxEntries = 50_000_000 };
results.Add(("dedup reserve + commit, in memory", await DedupStageAsync(() => new InMemoryDedupStore(Options.Create(dedupOptions), TimeProvider.System))));

if (redis is not null)
{
    var redisOptions = new DedupOptions { Backend = DedupBackend.Redis, Window = TimeSpan.FromMinutes(10) };
    redisOptions.Redis.ConnectionString = redis;
    results.Add(("dedup reserve + commit, Redis (client side)", await DedupStageAsync(() =>
        new RedisDedupStore(Options.Create(redisOptions), TimeProvider.System, NullLogger<RedisDedupStore>.Instance))));
}

if (clickHouse is not null)
{
    var store = new ClickHouseEventStore(new ClickHouseOptions { ConnectionString = clickHouse, Database = "hotpath" }, NullLogger<ClickHouseEventStore>.Instance);
    await store.InitializeAsync(CancellationToken.None);
    const int RequestsPerInsert = 30;
    results.Add(("ClickHouse insert, 3,000 events per insert (client side)", Stage(rounds, requests, async () =>
    {
        for (var r = 0; r < requests; r += RequestsPerInsert)
        {
            var batches = new List<IngestBatch>();
            for (var i = r; i < Math.Min(requests, r + RequestsPerInsert); i++)
            {
                batches.Add(new IngestBatch { Tenant = Tenant, Events = parsed[i], ReceivedAtMicros = 1 });
            }

            await store.InsertAsync(batches, CancellationToken.None);
        }
    })));
    store.Dispose();
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{requests} requests x {EventsPerRequest} events, median of {rounds} rounds; {Environment.ProcessorCount} cores, load average {LoadAverage()}"));
Console.WriteLine();
Console.WriteLine("| stage | CPU µs per event | bytes allocated per event | wall µs per event |");
Console.WriteLine("| --- | --- | --- | --- |");
foreach (var (stage, measure) in results)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {stage} | {measure.CpuMicros:F2} | {measure.Bytes:F0} | {measure.WallMicros:F2} |"));
}

return 0;

// Reserve then commit every request's keys, eight requests in flight, on a fresh store each round (all keys new).
async Task<Measure> DedupStageAsync(Func<IDedupStore> create)
{
    var measures = new List<Measure>();
    for (var round = 0; round <= rounds; round++)
    {
        var store = create();
        if (store is RedisDedupStore redisStore)
        {
            await redisStore.ConnectAsync(CancellationToken.None);
        }

        // Each round uses keys no earlier round reserved, so every reservation is new.
        var salt = (UInt128)(ulong)(round + 1) << 100;
        var roundKeys = keys.Select(k => k.Select(key => key ^ salt).ToArray()).ToArray();
        var measure = await MeasureAsync(requests, async () =>
        {
            var next = -1;
            var workers = Enumerable.Range(0, 8).Select(async _ =>
            {
                var isNew = new bool[EventsPerRequest];
                int r;
                while ((r = Interlocked.Increment(ref next)) < requests)
                {
                    var holder = await store.ReserveAsync(Tenant, roundKeys[r], isNew, CancellationToken.None);
                    await store.CommitAsync(Tenant, roundKeys[r], holder, Memory<bool>.Empty, CancellationToken.None);
                }
            });
            await Task.WhenAll(workers);
        });
        if (round > 0)
        {
            measures.Add(measure); // round 0 warms up
        }

        if (store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }

    return Measure.Median(measures);
}

// A Group API body rewritten as a Segment batch: camelCase names, type "group", the batch's sentAt.
static byte[] SegmentBatch(byte[] groupApiBody)
{
    var calls = System.Text.Json.Nodes.JsonNode.Parse(groupApiBody)!.AsArray();
    var batch = new System.Text.Json.Nodes.JsonArray();
    foreach (var call in calls)
    {
        var group = new System.Text.Json.Nodes.JsonObject { ["type"] = "group" };
        foreach (var (name, value) in call!.AsObject())
        {
            var segmentName = name switch { "group_id" => "groupId", "user_id" => "userId", "message_id" => "messageId", _ => name };
            group[segmentName] = value?.DeepClone();
        }

        batch.Add(group);
    }

    var body = new System.Text.Json.Nodes.JsonObject { ["batch"] = batch, ["sentAt"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture) };
    return System.Text.Encoding.UTF8.GetBytes(body.ToJsonString());
}

static Measure Stage(int rounds, int requests, Func<Task> body)
{
    var measures = new List<Measure>();
    for (var round = 0; round <= rounds; round++)
    {
        var measure = MeasureAsync(requests, body).GetAwaiter().GetResult();
        if (round > 0)
        {
            measures.Add(measure); // round 0 warms up
        }
    }

    return Measure.Median(measures);
}

static async Task<Measure> MeasureAsync(int requests, Func<Task> body)
{
    GC.Collect();
    var process = Process.GetCurrentProcess();
    var cpuBefore = process.TotalProcessorTime;
    var bytesBefore = GC.GetTotalAllocatedBytes(precise: true);
    var wall = Stopwatch.StartNew();
    await body();
    wall.Stop();
    process.Refresh();
    var events = (double)requests * EventsPerRequest;
    return new Measure(
        (process.TotalProcessorTime - cpuBefore).TotalMicroseconds / events,
        (GC.GetTotalAllocatedBytes(precise: true) - bytesBefore) / events,
        wall.Elapsed.TotalMicroseconds / events);
}

static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

int IntArg(string name, int fallback) =>
    StringArg(name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

string? StringArg(string name)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

internal readonly record struct Measure(double CpuMicros, double Bytes, double WallMicros)
{
    public static Measure Median(List<Measure> measures)
    {
        static double Mid(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted[sorted.Length / 2];
        }

        return new Measure(Mid(measures.Select(m => m.CpuMicros)), Mid(measures.Select(m => m.Bytes)), Mid(measures.Select(m => m.WallMicros)));
    }
}
