using System.Diagnostics;
using System.Globalization;
using Platform.Ingest.Log;
using Platform.Perf.LogBench;

// Usage: dotnet run -c Release --project perf/LogBench -- [--dir perf-results/logbench] [--logs ours,faster-auto,...]
//            [--appenders 1,8,64] [--seconds 5] [--rounds 3] [--warmup 1] [--events 50] [--recovery-mb 200] [--skip-appends] [--skip-recovery]
// Our write-ahead log (ingest/Log, compiled from its sources) against FasterLog, on the same disk and the same records:
// the load generator's bodies as ingest's codec encodes them. Appends: N appenders each append a record and wait until it
// is durable, then the next, for a fixed time; every round runs every configuration once, the logs back to back, so a
// drift of the shared machine hits both. Recovery: a child process fills a log with that many MB and exits without
// closing it; then, each time in a new process and from a cold page cache, the log is opened and read back whole (every
// record decoded), as a restarted ingest's shipper would. --dir (relative to the working directory, under the ignored
// perf-results/ by default) must be on the disk under test: on tmpfs an fsync costs nothing.
var directory = Path.GetFullPath(StringArg("--dir") ?? "perf-results/logbench");
var logs = (StringArg("--logs") ?? string.Join(',', BenchLogs.All)).Split(',');
var appenderCounts = (StringArg("--appenders") ?? "1,8,64").Split(',').Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray();
var seconds = IntArg("--seconds", 5);
var rounds = IntArg("--rounds", 3);
var eventsPerBatch = IntArg("--events", 50);
var recoveryMegabytes = IntArg("--recovery-mb", 200);

var batches = Batches.Make(1000, eventsPerBatch);
var recordBytes = batches.Average(b =>
{
    var buffer = new System.Buffers.ArrayBufferWriter<byte>();
    IngestBatchCodec.Encode(b, buffer);
    return buffer.WrittenCount;
});
Console.WriteLine(Inv($"{Environment.ProcessorCount} cores, load average {LoadAverage()}; log directory {directory} ({FileSystem(directory)})"));
Console.WriteLine(Inv($"records: {eventsPerBatch} events each, {recordBytes:F0} bytes encoded on average; {seconds} s per run, {rounds} rounds"));

if (!args.Contains("--skip-appends") && !args.Contains("--fill") && !args.Contains("--recover"))
{
    // Warm up: JIT and tiering of both logs' paths before anything counts (--warmup 0 to leave it out, e.g. under strace).
    var warmup = IntArg("--warmup", 1);
    foreach (var log in logs.Where(_ => warmup > 0))
    {
        await AppendRunAsync(log, 8, warmup);
    }

    var results = new List<AppendResult>();
    for (var round = 1; round <= rounds; round++)
    {
        foreach (var appenders in appenderCounts)
        {
            foreach (var log in logs)
            {
                var result = await AppendRunAsync(log, appenders, seconds);
                results.Add(result);
                Console.WriteLine(Inv($"round {round}: {result}"));
            }
        }
    }

    Console.WriteLine();
    Console.WriteLine(Inv($"Appends, median of {rounds} rounds (ratio: this log's median over ours, round by round)"));
    Console.WriteLine();
    Console.WriteLine("| log | appenders | appends/s | ratio | p50 µs | p99 µs | p99.9 µs | fsyncs/s | CPU µs per append | of which kernel | ratio |");
    Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    foreach (var appenders in appenderCounts)
    {
        var ours = results.Where(r => r.Log == "ours" && r.Appenders == appenders).ToList();
        foreach (var log in logs)
        {
            var runs = results.Where(r => r.Log == log && r.Appenders == appenders).ToList();
            var rate = Median(runs.Select(r => r.AppendsPerSecond));
            var rateRatio = ours.Count == runs.Count ? Inv($"{Median(runs.Zip(ours, (r, o) => r.AppendsPerSecond / o.AppendsPerSecond)):F2}") : "";
            var cpuRatio = ours.Count == runs.Count ? Inv($"{Median(runs.Zip(ours, (r, o) => r.CpuMicrosPerAppend / o.CpuMicrosPerAppend)):F2}") : "";
            var syncs = runs[0].SyncsPerSecond < 0 ? "n/a" : Inv($"{Median(runs.Select(r => r.SyncsPerSecond)):F0}");
            Console.WriteLine(Inv(
                $"| {log} | {appenders} | {rate:F0} | {rateRatio} | {Median(runs.Select(r => r.P50)):F0} | {Median(runs.Select(r => r.P99)):F0} | {Median(runs.Select(r => r.P999)):F0} | {syncs} | {Median(runs.Select(r => r.CpuMicrosPerAppend)):F1} | {Median(runs.Select(r => r.SysMicrosPerAppend)):F1} | {cpuRatio} |"));
        }
    }
}

if (StringArg("--fill") is { } fillKind)
{
    // A child process: fill a log, then exit without closing it, as a crash right after the last acknowledgement would.
    var path = Path.Combine(directory, fillKind + "-recovery");
    DeleteDirectory(path);
    var filled = BenchLogs.Open(fillKind, path);
    var target = (long)recoveryMegabytes << 20;
    var next = -1L;
    var acknowledged = 0L;
    await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
    {
        long n;
        while ((n = Interlocked.Increment(ref next)) * recordBytes < target)
        {
            await filled.AppendAsync(batches[n % batches.Length]);
            Interlocked.Increment(ref acknowledged);
        }
    })));
    Console.WriteLine(Inv($"filled {acknowledged}"));
    Environment.Exit(0);
}

if (StringArg("--recover") is { } recoverKind)
{
    // A child process: what a restarted ingest does before shipping, from a cold page cache.
    var path = Path.Combine(directory, recoverKind + "-recovery");
    PageCache.Drop(path);
    var clock = Stopwatch.StartNew();
    await using var reopened = BenchLogs.Open(recoverKind, path);
    var opened = clock.Elapsed.TotalMilliseconds;
    var events = await reopened.ReadAllAsync();
    Console.WriteLine(Inv($"recovered {events} {opened:F1} {clock.Elapsed.TotalMilliseconds:F1}"));
    return 0;
}

if (!args.Contains("--skip-recovery"))
{
    Console.WriteLine();
    Console.WriteLine(Inv($"Recovery of {recoveryMegabytes} MB unshipped, each in a new process after a fill that exited without closing the log: open, then read and decode every record, from a cold page cache; median of {rounds}, the logs in turn"));
    Console.WriteLine();
    Console.WriteLine("| log | on disk MB | records | open ms | open + read all ms | ratio | read MB/s |");
    Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    var records = new Dictionary<string, long>();
    foreach (var log in logs)
    {
        var output = Child("--fill", log);
        records[log] = long.Parse(output.Split(' ')[1], CultureInfo.InvariantCulture);
    }

    var measured = logs.ToDictionary(l => l, _ => new List<(double Open, double Total)>());
    for (var round = 0; round < rounds; round++)
    {
        foreach (var log in logs)
        {
            var fields = Child("--recover", log).Split(' ');
            var events = long.Parse(fields[1], CultureInfo.InvariantCulture);
            if (events != records[log] * eventsPerBatch)
            {
                throw new InvalidOperationException($"{log} read back {events} events after recovery; {records[log] * eventsPerBatch} were acknowledged");
            }

            measured[log].Add((double.Parse(fields[2], CultureInfo.InvariantCulture), double.Parse(fields[3], CultureInfo.InvariantCulture)));
        }
    }

    foreach (var log in logs)
    {
        var path = Path.Combine(directory, log + "-recovery");
        var onDisk = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) / (1024.0 * 1024.0);
        var total = Median(measured[log].Select(m => m.Total));
        var ratio = Median(measured[log].Zip(measured[logs[0]], (m, o) => m.Total / o.Total));
        Console.WriteLine(Inv($"| {log} | {onDisk:F0} | {records[log]} | {Median(measured[log].Select(m => m.Open)):F0} | {total:F0} | {ratio:F2} | {onDisk / (total / 1000):F0} |"));
    }

    foreach (var log in logs)
    {
        DeleteDirectory(Path.Combine(directory, log + "-recovery"));
    }
}

return 0;

async Task<AppendResult> AppendRunAsync(string kind, int appenders, int runSeconds)
{
    var path = Path.Combine(directory, kind);
    DeleteDirectory(path);
    var latencies = new List<long>[appenders];
    var log = BenchLogs.Open(kind, path);
    var process = Process.GetCurrentProcess();
    var cpuBefore = process.TotalProcessorTime;
    var sysBefore = process.PrivilegedProcessorTime;
    var syncsBefore = log.Syncs;
    var stopAt = Stopwatch.GetTimestamp() + (runSeconds * Stopwatch.Frequency);
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
    {
        var mine = latencies[a] = new List<long>(64 * 1024);
        var n = a;
        long start;
        while ((start = Stopwatch.GetTimestamp()) < stopAt)
        {
            await log.AppendAsync(batches[n % batches.Length]);
            mine.Add(Stopwatch.GetTimestamp() - start);
            n += appenders;
        }
    })));
    var elapsed = clock.Elapsed.TotalSeconds;
    process.Refresh();
    var cpu = (process.TotalProcessorTime - cpuBefore).TotalMicroseconds;
    var sys = (process.PrivilegedProcessorTime - sysBefore).TotalMicroseconds;
    var syncs = log.Syncs < 0 ? -1 : (log.Syncs - syncsBefore) / elapsed;
    await log.DisposeAsync();
    DeleteDirectory(path);

    var all = latencies.SelectMany(l => l).ToArray();
    Array.Sort(all);
    double Percentile(double p) => all[Math.Min(all.Length - 1, (int)(p * all.Length))] * 1_000_000.0 / Stopwatch.Frequency;
    return new AppendResult(kind, appenders, all.Length / elapsed, Percentile(0.50), Percentile(0.99), Percentile(0.999), syncs, cpu / all.Length, sys / all.Length);
}

// Runs this program again with the same arguments plus a mode, and returns the line it printed last.
string Child(string mode, string kind)
{
    var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
    if (!Environment.ProcessPath!.EndsWith("Platform.Perf.LogBench", StringComparison.Ordinal))
    {
        start.ArgumentList.Add(typeof(AppendResult).Assembly.Location);
    }

    foreach (var arg in args)
    {
        start.ArgumentList.Add(arg);
    }

    start.ArgumentList.Add(mode);
    start.ArgumentList.Add(kind);
    using var child = Process.Start(start)!;
    var output = child.StandardOutput.ReadToEnd().Trim().Split('\n')[^1];
    child.WaitForExit();
    if (child.ExitCode != 0)
    {
        throw new InvalidOperationException($"{mode} {kind} exited with {child.ExitCode}: {output}");
    }

    return output;
}

static double Median(IEnumerable<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

static void DeleteDirectory(string path)
{
    if (Directory.Exists(path))
    {
        Directory.Delete(path, recursive: true);
    }
}

static string FileSystem(string path)
{
    Directory.CreateDirectory(path);
    var mounts = File.Exists("/proc/mounts") ? File.ReadAllLines("/proc/mounts") : [];
    var best = mounts.Select(l => l.Split(' ')).Where(f => f.Length > 2 && path.StartsWith(f[1], StringComparison.Ordinal))
        .MaxBy(f => f[1].Length);
    return best is null ? "unknown file system" : $"{best[2]} on {best[0]}";
}

static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

int IntArg(string name, int fallback) =>
    StringArg(name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

string? StringArg(string name)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

internal readonly record struct AppendResult(
    string Log, int Appenders, double AppendsPerSecond, double P50, double P99, double P999, double SyncsPerSecond, double CpuMicrosPerAppend, double SysMicrosPerAppend)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Log,-17} {Appenders,3} appenders: {AppendsPerSecond,8:F0} appends/s, p50 {P50,7:F0} µs, p99 {P99,7:F0} µs, p99.9 {P999,7:F0} µs, {(SyncsPerSecond < 0 ? "n/a" : SyncsPerSecond.ToString("F0", CultureInfo.InvariantCulture)),6} fsyncs/s, {CpuMicrosPerAppend,6:F1} CPU µs/append ({SysMicrosPerAppend:F1} in the kernel)");
}
