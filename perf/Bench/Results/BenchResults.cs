using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Platform.Perf.Bench.Results;

/// <summary>The processes whose CPU and memory a run samples, in report order.</summary>
internal static class Components
{
    public static readonly string[] Services = ["gateway", "ingest", "redis", "clickhouse"];
}

/// <summary>One LoadGen run as its <c>summary.json</c> tells it.</summary>
internal sealed record RunSummary
{
    public required string Workload { get; init; }

    public required string Model { get; init; }

    public required string Offered { get; init; }

    public required double ElapsedSeconds { get; init; }

    public required long Requests { get; init; }

    public required long Ok { get; init; }

    public required long Dropped { get; init; }

    public required long EventsAcked { get; init; }

    public required double EventsPerSecond { get; init; }

    public required long RowsAcked { get; init; }

    public required double RowsPerSecond { get; init; }

    public required double OkPerSecond { get; init; }

    public required double P50Ms { get; init; }

    public required double P95Ms { get; init; }

    public required double P99Ms { get; init; }

    public required double MaxMs { get; init; }

    public required double LoadGenCpuMs { get; init; }

    public required long LoadGenPeakRssBytes { get; init; }

    /// <summary>Null when the run was not verified (reads).</summary>
    public bool? VerificationPassed { get; init; }

    public IReadOnlyList<string> Checks { get; init; } = [];

    /// <summary>Ingest's storage inserts during the run, and the events they carried (its group commit), when verified.</summary>
    public long? IngestInserts { get; init; }

    public long? IngestInsertedEvents { get; init; }

    public IReadOnlyList<string> FailedChecks { get; init; } = [];

    /// <summary>Ingest's freshness lag over the run (seconds from log append to stored), when it reported one.</summary>
    public double? ShipLagP50Seconds { get; init; }

    public double? ShipLagP95Seconds { get; init; }

    public double? ShipLagP99Seconds { get; init; }

    /// <summary>The write-ahead log's largest unshipped size seen during the run, when ingest has a log.</summary>
    public double? PeakLogBytes { get; init; }

    public double? PeakOldestUnshippedAgeSeconds { get; init; }

    public double? LogMaxBytes { get; init; }

    /// <summary>Seconds from the end of the load until the log was empty (the storage checks waited for it).</summary>
    public double? LogDrainWaitSeconds { get; init; }

    /// <summary>Failed storage inserts during the run (the shipper retries them).</summary>
    public double? StorageErrors { get; init; }

    public IReadOnlyList<string> ErrorSamples { get; init; } = [];

    public IReadOnlyDictionary<string, long> Statuses { get; init; } = new Dictionary<string, long>();

    public long Errors => Requests - Ok;

    public static RunSummary Read(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        var root = document.RootElement;
        var latency = root.GetProperty("latency_ms");
        var checks = new List<string>();
        var failed = new List<string>();
        bool? passed = null;
        long? ingestInserts = null, ingestInsertedEvents = null;
        if (root.TryGetProperty("verification", out var verification) && verification.ValueKind == JsonValueKind.Object)
        {
            passed = verification.GetProperty("passed").GetBoolean();
            if (verification.TryGetProperty("ingest_inserts", out var inserts) && inserts.ValueKind == JsonValueKind.Number)
            {
                ingestInserts = inserts.GetInt64();
                ingestInsertedEvents = verification.GetProperty("ingest_inserted_events").GetInt64();
            }

            foreach (var check in verification.GetProperty("checks").EnumerateArray())
            {
                var text = string.Create(CultureInfo.InvariantCulture,
                    $"{check.GetProperty("name").GetString()}: expected {check.GetProperty("expected_text").GetString()}, found {check.GetProperty("actual").GetInt64()}");
                if (check.TryGetProperty("note", out var note) && note.ValueKind == JsonValueKind.String)
                {
                    text += $" ({note.GetString()})";
                }

                checks.Add(text);
                if (!check.GetProperty("passed").GetBoolean())
                {
                    failed.Add(text);
                }
            }
        }

        double? Optional(JsonElement parent, string name) =>
            parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;
        var ingest = root.TryGetProperty("ingest", out var observed) ? observed : default;

        return new RunSummary
        {
            ShipLagP50Seconds = Optional(ingest, "ship_lag_p50_s"),
            ShipLagP95Seconds = Optional(ingest, "ship_lag_p95_s"),
            ShipLagP99Seconds = Optional(ingest, "ship_lag_p99_s"),
            PeakLogBytes = Optional(ingest, "log_peak_bytes"),
            PeakOldestUnshippedAgeSeconds = Optional(ingest, "log_peak_oldest_unshipped_age_s"),
            LogMaxBytes = Optional(ingest, "log_max_bytes"),
            LogDrainWaitSeconds = Optional(ingest, "log_drain_wait_s"),
            StorageErrors = Optional(ingest, "storage_errors"),
            Workload = root.GetProperty("workload").GetString()!,
            Model = root.GetProperty("model").GetString()!,
            Offered = root.GetProperty("offered").GetString()!,
            ElapsedSeconds = root.GetProperty("elapsed_s").GetDouble(),
            Requests = root.GetProperty("requests").GetInt64(),
            Ok = root.GetProperty("statuses").TryGetProperty("200", out var ok) ? ok.GetInt64() : 0,
            Dropped = root.GetProperty("dropped").GetInt64(),
            EventsAcked = root.GetProperty("events_acked").GetInt64(),
            EventsPerSecond = root.GetProperty("events_acked_per_s").GetDouble(),
            RowsAcked = root.GetProperty("rows_acked").GetInt64(),
            RowsPerSecond = root.GetProperty("rows_acked_per_s").GetDouble(),
            OkPerSecond = root.GetProperty("ok_per_s").GetDouble(),
            P50Ms = latency.GetProperty("p50").GetDouble(),
            P95Ms = latency.GetProperty("p95").GetDouble(),
            P99Ms = latency.GetProperty("p99").GetDouble(),
            MaxMs = latency.GetProperty("max").GetDouble(),
            LoadGenCpuMs = root.GetProperty("loadgen_cpu_ms").GetDouble(),
            LoadGenPeakRssBytes = root.GetProperty("loadgen_peak_rss_bytes").GetInt64(),
            VerificationPassed = passed,
            IngestInserts = ingestInserts,
            IngestInsertedEvents = ingestInsertedEvents,
            Checks = checks,
            FailedChecks = failed,
            ErrorSamples = [.. root.GetProperty("error_samples").EnumerateArray().Select(e => e.GetString()!)],
            Statuses = root.GetProperty("statuses").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64(), StringComparer.Ordinal),
        };
    }
}

/// <summary>
/// One scenario's directory: <c>scenario.txt</c> (key=value lines written by run.sh: name, title, the CPU milliseconds of
/// each service over the measured window, the window's seconds, and each load generator's exit code) and one
/// subdirectory of LoadGen reports per run: <c>load</c> (the measured load), <c>reads</c> (reads beside it), <c>seed</c>
/// (writes before the window that the reads read).
/// </summary>
internal sealed record Scenario(string Directory, IReadOnlyDictionary<string, string> Info, IReadOnlyDictionary<string, RunSummary> Runs)
{
    /// <summary>The runs whose load generator counts towards the window's CPU (the seed runs before it).</summary>
    private static readonly string[] MeasuredRuns = ["load", "reads"];

    public string Name => Info.GetValueOrDefault("name", Path.GetFileName(Directory));

    public string Title => Info.GetValueOrDefault("title", Name);

    public RunSummary? Load => Runs.GetValueOrDefault("load");

    /// <summary>A window with no load: what the processes burn by themselves.</summary>
    public bool IsIdle => Info.GetValueOrDefault("kind") == "idle";

    public RunSummary? Reads => Runs.GetValueOrDefault("reads");

    /// <summary>Which baseline this scenario is, if any: <c>clickhouse</c> or <c>ingest-direct</c>.</summary>
    public string? Baseline => Info.GetValueOrDefault("baseline");

    public double WallSeconds => Number("wall_s");

    public double? CpuMs(string component) => Info.ContainsKey("cpu_ms_" + component) ? Number("cpu_ms_" + component) : null;

    public double LoadGenCpuMs => MeasuredRuns.Sum(r => Runs.GetValueOrDefault(r)?.LoadGenCpuMs ?? 0);

    /// <summary>The events the window's CPU is divided by: the measured load's acked events (rows' events for the baseline).</summary>
    public long Events => Load?.EventsAcked ?? 0;

    public bool Verified => Runs.Values.Any(r => r.VerificationPassed is not null);

    /// <summary>The ClickHouse outage scenario: storage was stopped during the load and started again on the same data.</summary>
    public bool IsOutage => Info.GetValueOrDefault("kind") == "outage";

    /// <summary>
    /// The noisy-neighbour scenario: one LoadGen flood run (directory <c>flood</c>) writing <c>flood.md</c> and
    /// <c>flood.json</c> (with its failures) rather than one summary.
    /// </summary>
    public bool IsFlood => Info.GetValueOrDefault("kind") == "flood";

    /// <summary>The flood run's own report (Markdown), or null when it wrote none.</summary>
    public string? FloodMarkdown => ReadFlood("flood.md");

    /// <summary>Unix seconds when run.sh stopped ClickHouse and when it answered again; null outside the outage scenario.</summary>
    public double? ClickHouseStoppedAt => Info.ContainsKey("clickhouse_stopped_at") ? Number("clickhouse_stopped_at") : null;

    public double? ClickHouseReturnedAt => Info.ContainsKey("clickhouse_returned_at") ? Number("clickhouse_returned_at") : null;

    /// <summary>Unix seconds when the stopped server's process had exited (a clean stop first finishes running queries).</summary>
    public double? ClickHouseGoneAt => Info.ContainsKey("clickhouse_gone_at") ? Number("clickhouse_gone_at") : null;

    /// <summary>The measured load's scrapes of ingest's log (its <c>ingest-log.csv</c>), oldest first.</summary>
    public IReadOnlyList<LogPoint> LogSamples()
    {
        var file = System.IO.Path.Combine(Directory, "load", "ingest-log.csv");
        if (!File.Exists(file))
        {
            return [];
        }

        return [.. File.ReadAllLines(file).Skip(1)
            .Select(line => line.Split(','))
            .Where(cells => cells.Length >= 5)
            .Select(cells => new LogPoint(
                double.Parse(cells[0], NumberStyles.Float, CultureInfo.InvariantCulture),
                double.Parse(cells[2], NumberStyles.Float, CultureInfo.InvariantCulture),
                double.Parse(cells[4], NumberStyles.Float, CultureInfo.InvariantCulture)))];
    }

    /// <summary>What the outage did to the log, from the scrapes around run.sh's stop and start of ClickHouse.</summary>
    public OutageFigures? Outage()
    {
        if (!IsOutage || ClickHouseStoppedAt is not { } stopped)
        {
            return null;
        }

        var samples = LogSamples();
        var returned = ClickHouseReturnedAt;
        // The log's level under the same load before storage went away: a 1 s block waiting to ship is normal.
        var before = samples.Where(s => s.UnixSeconds < stopped).Select(s => s.Bytes).DefaultIfEmpty(0).Max();
        var peak = samples.Where(s => s.UnixSeconds >= stopped).DefaultIfEmpty().MaxBy(s => s?.Bytes ?? 0);
        double? drained = null;
        if (returned is { } back)
        {
            var first = samples.FirstOrDefault(s => s.UnixSeconds >= back && s.Bytes <= before);
            drained = first is null ? null : first.UnixSeconds - back;
        }

        var gone = ClickHouseGoneAt ?? stopped;
        return new OutageFigures(returned is null ? null : returned.Value - gone, gone - stopped, before, peak?.Bytes ?? 0,
            samples.Where(s => s.UnixSeconds >= stopped).Select(s => s.OldestUnshippedAgeSeconds).DefaultIfEmpty(0).Max(), drained);
    }

    public IEnumerable<string> Problems()
    {
        foreach (var (key, value) in Info.Where(i => i.Key.StartsWith("exit_", StringComparison.Ordinal)))
        {
            var run = key["exit_".Length..];
            if (value != "0")
            {
                yield return $"{Name}: the {run} load generator exited {value} (see {run}.log)";
            }

            if (IsFlood ? FloodMarkdown is null : !Runs.ContainsKey(run))
            {
                yield return $"{Name}: the {run} run wrote no summary";
            }
        }

        if (IsFlood && ReadFlood("flood.json") is { } flood)
        {
            using var document = JsonDocument.Parse(flood);
            foreach (var failure in document.RootElement.GetProperty("failures").EnumerateArray())
            {
                yield return $"{Name}: {failure.GetString()}";
            }
        }

        if (IsOutage && ClickHouseReturnedAt is null)
        {
            yield return $"{Name}: ClickHouse did not come back after the outage (see clickhouse.log)";
        }

        foreach (var (run, summary) in Runs)
        {
            if (summary.Errors > 0)
            {
                yield return $"{Name}: {summary.Errors} of {summary.Requests} {run} requests failed ({string.Join("; ", summary.ErrorSamples)})";
            }

            foreach (var check in summary.FailedChecks)
            {
                yield return $"{Name}: {run}: {check}";
            }
        }
    }

    private string? ReadFlood(string file)
    {
        var path = System.IO.Path.Combine(Directory, "flood", file);
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }

    private double Number(string key) =>
        Info.TryGetValue(key, out var text) ? double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture) : 0;
}

/// <summary>One scrape of ingest's log during a run: when (Unix seconds), unshipped bytes, the oldest unshipped event's age.</summary>
internal sealed record LogPoint(double UnixSeconds, double Bytes, double OldestUnshippedAgeSeconds);

/// <summary>
/// The outage as the log saw it: how long ClickHouse was away (its process's exit to answering again) and how long the
/// stop took to end the process (0 for a kill, a clean stop's shutdown otherwise), the log's level under the same
/// load before the stop, its peak after, and the seconds from ClickHouse's return until the log was back to that level
/// (null when it was not, within the load).
/// </summary>
internal sealed record OutageFigures(double? DownSeconds, double StoppingSeconds, double BytesBefore, double PeakBytes, double PeakOldestAgeSeconds, double? DrainedAfterReturnSeconds);

/// <summary>One line of the per-second samples run.sh writes: RSS in kB per service (0 when the process was gone).</summary>
internal sealed record RssSample(double ElapsedSeconds, string Scenario, IReadOnlyDictionary<string, long> Kilobytes);

/// <summary>Everything one benchmark run left in its results directory.</summary>
internal sealed record BenchResults(
    string Directory, IReadOnlyDictionary<string, string> Meta, IReadOnlyList<Scenario> Scenarios, IReadOnlyList<RssSample> Rss)
{
    public const string SustainedScenario = "sustained";

    public static BenchResults Load(string directory)
    {
        var scenarios = System.IO.Directory.GetDirectories(directory)
            .Where(d => File.Exists(Path.Combine(d, "scenario.txt")))
            .Order(StringComparer.Ordinal)
            .Select(d => new Scenario(
                d,
                KeyValues(Path.Combine(d, "scenario.txt")),
                System.IO.Directory.GetDirectories(d)
                    .Where(r => File.Exists(Path.Combine(r, "summary.json")))
                    .ToDictionary(r => Path.GetFileName(r), r => RunSummary.Read(Path.Combine(r, "summary.json")), StringComparer.Ordinal)))
            .ToList();
        var metaFile = Path.Combine(directory, "meta.txt");
        var meta = File.Exists(metaFile) ? KeyValues(metaFile) : new Dictionary<string, string>(StringComparer.Ordinal);
        return new BenchResults(directory, meta, scenarios, ReadRss(Path.Combine(directory, "samples.csv")));
    }

    public Scenario? BaselineOf(string kind) => Scenarios.FirstOrDefault(s => s.Baseline == kind);

    public Scenario? Named(string name) => Scenarios.FirstOrDefault(s => s.Name == name);

    public IReadOnlyList<string> Problems() => [.. Scenarios.SelectMany(s => s.Problems())];

    /// <summary>The sustained scenario's samples, with seconds counted from its start, in MB.</summary>
    public string SustainedRssCsv()
    {
        var csv = new StringBuilder("second," + string.Join(',', Components.Services.Select(c => c + "_mb")) + "\n");
        var samples = Rss.Where(s => s.Scenario == SustainedScenario).ToList();
        foreach (var sample in samples)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{sample.ElapsedSeconds - samples[0].ElapsedSeconds:F1}");
            foreach (var component in Components.Services)
            {
                csv.Append(CultureInfo.InvariantCulture, $",{sample.Kilobytes.GetValueOrDefault(component) / 1024.0:F1}");
            }

            csv.Append('\n');
        }

        return csv.ToString();
    }

    private static Dictionary<string, string> KeyValues(string file) =>
        File.ReadAllLines(file)
            .Select(line => line.Split('=', 2))
            .Where(parts => parts.Length == 2 && parts[0].Length > 0)
            .GroupBy(parts => parts[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.Ordinal);

    private static List<RssSample> ReadRss(string file)
    {
        if (!File.Exists(file))
        {
            return [];
        }

        var lines = File.ReadAllLines(file);
        var header = lines[0].Split(',');
        var samples = new List<RssSample>();
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            if (cells.Length != header.Length)
            {
                continue;
            }

            var kilobytes = new Dictionary<string, long>(StringComparer.Ordinal);
            for (var i = 2; i < cells.Length; i++)
            {
                if (header[i].EndsWith("_kb", StringComparison.Ordinal))
                {
                    kilobytes[header[i][..^"_kb".Length]] = long.TryParse(cells[i], CultureInfo.InvariantCulture, out var kb) ? kb : 0;
                }
            }

            samples.Add(new RssSample(double.Parse(cells[0], CultureInfo.InvariantCulture), cells[1], kilobytes));
        }

        return samples;
    }
}
