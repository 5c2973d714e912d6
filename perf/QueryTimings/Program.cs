using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Platform.Ingest.Events;
using Platform.Ingest.GroupApi;
using Platform.Ingest.Query;
using Platform.Ingest.Storage;
using Platform.Ingest.Storage.DuckDb;

// Usage: dotnet run -c Release --project perf/QueryTimings -- [events=1000000] [groups=20000] [runs=7]
// Seeds one tenant (plus a second, to prove the tenant filter costs nothing) through the real parser and the real
// DuckDB store, then prints the median time of each query over the runs as a Markdown table.
var events = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
var groups = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000;
var runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 7;

var directory = Directory.CreateTempSubdirectory("platform-query-timings-").FullName;
try
{
    var store = new DuckDbEventStore(Path.Combine(directory, "platform.duckdb"), TimeProvider.System, NullLogger<DuckDbEventStore>.Instance);
    await store.InitializeAsync(CancellationToken.None);
    var parser = new GroupEventParser(Options.Create(new GroupApiOptions { MaxGroupsPerRequest = 100_000, MaxEventsPerRequest = 100_000 }), TimeProvider.System);
    string[] plans = ["Free", "Basic", "Pro", "Business", "Enterprise"];
    string[] industries = ["Software", "Retail", "Healthcare", "Finance", "Telecommunications", "Education", "Logistics"];

    var seed = Stopwatch.StartNew();
    const int PerInsert = 5_000;
    var random = new Random(42);
    for (var start = 0; start < events; start += PerInsert)
    {
        var json = new System.Text.StringBuilder("[");
        for (var i = start; i < Math.Min(events, start + PerInsert); i++)
        {
            var group = random.Next(groups);
            var time = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(i).ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
            var type = group % 4 == 0 ? "Team" : "Account";
            json.Append(CultureInfo.InvariantCulture, $$$"""{"group_id":"grp-{{{group:D6}}}","user_id":"user-{{{random.Next(groups * 5):D7}}}","timestamp":"{{{time}}}Z","traits":{"group_type":"{{{type}}}","name":"Company {{{group}}}","planName":"{{{plans[random.Next(plans.Length)]}}}","enrichment_industry":"{{{industries[group % industries.Length]}}}","enrichment_employees":{{{random.Next(1, 20_000)}}}}},""");
        }

        json[^1] = ']';
        // Every tenth insert goes to another tenant, so the measured queries must filter it out.
        var tenant = start / PerInsert % 10 == 9 ? "other" : "acme";
        var outcome = parser.Parse(System.Text.Encoding.UTF8.GetBytes(json.ToString()), tenant);
        if (!outcome.IsValid)
        {
            throw new InvalidOperationException(outcome.Errors[0].ToString());
        }

        await store.InsertAsync([new IngestBatch { Tenant = tenant, Events = outcome.Events, ReceivedAtMicros = 0 }], CancellationToken.None);
    }

    var counts = await store.CountAsync("acme", CancellationToken.None);
    Console.WriteLine($"Seeded {events:N0} events ({counts.Events:N0} for the measured tenant, {counts.TraitRows:N0} trait rows, {counts.Memberships:N0} memberships) in {seed.Elapsed.TotalSeconds:F0} s ({events / seed.Elapsed.TotalSeconds:N0} events/s).");
    Console.WriteLine($"Database file: {new FileInfo(Path.Combine(directory, "platform.duckdb")).Length / 1024 / 1024} MB. Median of {runs} runs per query:");
    Console.WriteLine();
    Console.WriteLine("| query | median ms | rows |");
    Console.WriteLine("| --- | ---: | ---: |");

    var queries = store;
    var planPro = new TraitFilter("planName", FilterOperator.Equals, [CanonicalJson.EncodeString("Pro")]);
    var accounts = new TraitFilter("group_type", FilterOperator.Equals, [CanonicalJson.EncodeString("Account")]);
    var large = new TraitFilter("enrichment_employees", FilterOperator.GreaterOrEqual, [], 10_000);
    var prefix = new TraitFilter("name", FilterOperator.Prefix, [CanonicalJson.EncodeString("Company 12")[..^1]]);
    var user = (await queries.GetGroupUsersAsync("acme", "grp-000042", null, 1, CancellationToken.None))[0].Id;

    await Time("profile (GET /api/groups/{id})", async () => (await queries.GetGroupAsync("acme", "grp-000042", CancellationToken.None))!.Traits.Count);
    await Time("group users, first page of 50", async () => (await queries.GetGroupUsersAsync("acme", "grp-000042", null, 51, CancellationToken.None)).Count);
    await Time("user's groups", async () => (await queries.GetUserGroupsAsync("acme", user, null, 51, CancellationToken.None)).Count);
    await Time("groups, no filter, first page of 50", async () => (await queries.FindGroupsAsync("acme", [], null, 51, CancellationToken.None)).Count);
    await Time("groups where planName=Pro, page of 50", async () => (await queries.FindGroupsAsync("acme", [planPro], null, 51, CancellationToken.None)).Count);
    await Time("groups where Account and employees>=10000 and plan=Pro", async () => (await queries.FindGroupsAsync("acme", [accounts, large, planPro], null, 51, CancellationToken.None)).Count);
    await Time("groups where name starts with 'Company 12'", async () => (await queries.FindGroupsAsync("acme", [prefix], null, 51, CancellationToken.None)).Count);
    await Time("groups, page after grp-015000", async () => (await queries.FindGroupsAsync("acme", [], "grp-015000", 51, CancellationToken.None)).Count);
    await Time("counts by planName (top 10)", async () => (await queries.CountGroupsByTraitAsync("acme", "planName", [], 10, CancellationToken.None)).Top.Count);
    await Time("counts by enrichment_industry among Accounts", async () => (await queries.CountGroupsByTraitAsync("acme", "enrichment_industry", [accounts], 10, CancellationToken.None)).Top.Count);
    await Time("planName history of one group, page of 50", async () => (await queries.GetTraitHistoryAsync("acme", "grp-000042", "planName", null, 51, CancellationToken.None)).Count);
    await store.DisposeAsync();

    async Task Time(string name, Func<Task<int>> query)
    {
        var rows = await query(); // warm-up
        var samples = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var watch = Stopwatch.StartNew();
            rows = await query();
            samples.Add(watch.Elapsed.TotalMilliseconds);
        }

        samples.Sort();
        Console.WriteLine($"| {name} | {samples[samples.Count / 2]:F1} | {rows} |");
    }
}
finally
{
    Directory.Delete(directory, recursive: true);
}
