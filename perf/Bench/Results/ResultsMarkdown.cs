using System.Globalization;
using System.Text;

namespace Platform.Perf.Bench.Results;

/// <summary>results.md: the machine, every scenario's figures with the ratios to the same run's baselines, CPU per event, memory.</summary>
internal static class ResultsMarkdown
{
    // The performance targets of docs/architecture.md, reported beside the figures (not enforced: the script fails on checks, not on targets).
    private const double P99TargetMs = 100;
    private const double GatewayRssTargetMb = 256;
    private const double IngestRssTargetMb = 512;

    public static string Write(BenchResults results)
    {
        var md = new StringBuilder();
        var meta = results.Meta;
        md.AppendLine("# Benchmark results");
        md.AppendLine();
        md.AppendLine(Invariant($"`{meta.GetValueOrDefault("command", "bash perf/Bench/run.sh")}` at commit `{meta.GetValueOrDefault("commit", "?")}`{(meta.GetValueOrDefault("dirty", "0") == "0" ? "" : " (with uncommitted changes)")}, started {meta.GetValueOrDefault("started", "?")}, {meta.GetValueOrDefault("wall_s", "?")} s in all."));
        md.AppendLine();
        md.AppendLine("| machine | |");
        md.AppendLine("| --- | --- |");
        md.AppendLine(Invariant($"| CPU | {meta.GetValueOrDefault("nproc", "?")} × {meta.GetValueOrDefault("cpu_model", "?")} |"));
        md.AppendLine(Invariant($"| load average (1/5/15 min) | {meta.GetValueOrDefault("loadavg_start", "?")} at the start, {meta.GetValueOrDefault("loadavg_end", "?")} at the end |"));
        md.AppendLine(Invariant($"| memory | {meta.GetValueOrDefault("mem_total", "?")} |"));
        md.AppendLine(Invariant($"| system | {meta.GetValueOrDefault("kernel", "?")}; .NET {meta.GetValueOrDefault("dotnet", "?")}; ClickHouse {meta.GetValueOrDefault("clickhouse", "?")}; Redis {meta.GetValueOrDefault("redis", "?")} |"));
        md.AppendLine(Invariant($"| settings | {meta.GetValueOrDefault("settings", "?")} |"));
        md.AppendLine();
        md.AppendLine("Everything (load generator, gateway, ingest, Redis, ClickHouse) shares the machine's cores, and other work on the machine " +
            "shows in the load average: compare figures within this run (the ratios) and CPU per event, not across machines.");
        md.AppendLine();

        WriteThroughput(md, results);
        WriteOutage(md, results);
        WriteFlood(md, results);
        WriteCpu(md, results);
        WriteMemory(md, results);
        WriteChecks(md, results);
        return md.ToString();
    }

    private static void WriteThroughput(StringBuilder md, BenchResults results)
    {
        var clickHouse = results.BaselineOf("clickhouse")?.Load;
        var direct = results.BaselineOf("ingest-direct")?.Load;
        md.AppendLine("## Throughput and latency");
        md.AppendLine();
        md.AppendLine("Latency is from each request's intended send time (open model) or its send (closed model) to its answer, " +
            "which on ClickHouse comes once the request is fsynced in ingest's write-ahead log (with the embedded store, once stored). Ratios divide events/s by the ClickHouse HTTP baseline's events/s equivalent " +
            "and by ingest-direct's closed-model peak, both from this run. Freshness is ingest's ship lag (`platform.ingest.ship.lag`: " +
            "from a request's append to the write-ahead log to its events being in ClickHouse, so how stale queries are) over the run " +
            "and its drain, p50 / p95 / p99 from the histogram's growth, interpolated within its buckets (0.01, 0.025, 0.05, 0.1, 0.25, " +
            "0.5, 1, 2, 5, 10, 30, 60 … s), so coarse above a few seconds; \"peak age\" is the oldest unshipped event's largest age " +
            "seen in the half-second scrapes of the run, a finer bound on how stale queries got; \"–\" where ingest reports none.");
        md.AppendLine();
        md.AppendLine("| scenario | load | events/s | rows/s or reads/s | p50 | p95 | p99 | max | errors | dropped | verification | × ClickHouse HTTP | × ingest direct | freshness p50 / p95 / p99 | peak age |");
        md.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var scenario in results.Scenarios.Where(s => !s.IsIdle && !s.IsFlood))
        {
            if (scenario.Load is { } load)
            {
                var perSecond = load.Workload == "ClickHouseInsert" ? Invariant($"{load.RowsPerSecond:N0} rows/s") : "";
                md.AppendLine(Invariant($"| {scenario.Title} | {load.Model.ToLowerInvariant()}, {load.Offered} | {load.EventsPerSecond:N0} | {perSecond} | {Ms(load.P50Ms)} | {Ms(load.P95Ms)} | {Ms(load.P99Ms)} | {Ms(load.MaxMs)} | {load.Errors} | {load.Dropped} | {Verification(scenario)} | {Ratio(load.EventsPerSecond, clickHouse?.EventsPerSecond)} | {Ratio(load.EventsPerSecond, direct?.EventsPerSecond)} | {Freshness(load)} | {(load.PeakOldestUnshippedAgeSeconds is { } age ? Seconds(age) : "–")} |"));
            }
            else
            {
                md.AppendLine(Invariant($"| {scenario.Title} | no summary: the load generator did not finish | | | | | | | | | FAILED | | | | |"));
            }

            if (scenario.Reads is { } reads)
            {
                md.AppendLine(Invariant($"| ↳ reads beside it | {reads.Model.ToLowerInvariant()}, {reads.Offered} | – | {reads.OkPerSecond:N1} reads/s | {Ms(reads.P50Ms)} | {Ms(reads.P95Ms)} | {Ms(reads.P99Ms)} | {Ms(reads.MaxMs)} | {reads.Errors} | {reads.Dropped} | (reads) | – | – | – | – |"));
            }
        }

        md.AppendLine();
        var gatewayHalf = results.Named("gateway-open-half")?.Load;
        var directHalf = results.Named("ingest-direct-open-half")?.Load;
        if (gatewayHalf is not null)
        {
            md.AppendLine(Invariant($"p99 at half of the gateway's peak ({gatewayHalf.Offered}): {Ms(gatewayHalf.P99Ms)} through the gateway") +
                (directHalf is null ? "" : Invariant($", {Ms(directHalf.P99Ms)} straight to ingest at the same rate")) +
                Invariant($"; the target is under {P99TargetMs:F0} ms: {(gatewayHalf.P99Ms < P99TargetMs ? "met" : "not met")}."));
            md.AppendLine();
        }

        foreach (var scenario in results.Scenarios.Where(s => s.Reads is not null))
        {
            var file = Path.Combine(scenario.Directory, "reads", "summary.md");
            if (File.Exists(file))
            {
                md.AppendLine(Invariant($"Reads per endpoint ({scenario.Title}):"));
                md.AppendLine();
                foreach (var line in File.ReadAllLines(file).SkipWhile(l => !l.StartsWith("| endpoint", StringComparison.Ordinal)).TakeWhile(l => l.StartsWith('|')))
                {
                    md.AppendLine(line);
                }

                md.AppendLine();
            }
        }
    }

    private static void WriteOutage(StringBuilder md, BenchResults results)
    {
        foreach (var scenario in results.Scenarios.Where(s => s.IsOutage))
        {
            md.AppendLine("## ClickHouse outage");
            md.AppendLine();
            md.AppendLine(Invariant($"{scenario.Title}. ClickHouse was stopped (`{scenario.Info.GetValueOrDefault("stop", "SIGKILL")}`) during the load and started again on the same data directory; ingest acks from its write-ahead log, so the outage should show as log growth, not as client errors.") +
                " \"Drained\" is the time from ClickHouse answering again until the log was first back to its level before the stop (about one block waiting to ship), while the load went on or, if it took longer, during the wait for the drain after it; the storage checks ran once the log was empty.");
            md.AppendLine();
            var load = scenario.Load;
            if (load is null)
            {
                md.AppendLine("No summary: the load generator did not finish.");
                md.AppendLine();
                continue;
            }

            var outage = scenario.Outage();
            var errors = load.Statuses.Where(s => s.Key != "200").Select(s => Invariant($"{(s.Key == "0" ? "no answer" : s.Key)}: {s.Value}")).ToList();
            md.AppendLine("| figure | value |");
            md.AppendLine("| --- | --- |");
            md.AppendLine(Invariant($"| ClickHouse away (process gone → answering again) | {(outage?.DownSeconds is { } down ? $"{down:F1} s" : "did not come back")} |"));
            md.AppendLine(Invariant($"| stop signal → process gone | {(outage is null ? "–" : $"{outage.StoppingSeconds:F1} s")} |"));
            md.AppendLine(Invariant($"| requests, answered 200 | {load.Requests:N0}, {load.Ok:N0} |"));
            md.AppendLine(Invariant($"| client-visible errors (non-200 by status) | {(errors.Count == 0 ? "none" : string.Join(", ", errors))} |"));
            md.AppendLine(Invariant($"| dropped iterations (open model's cap) | {load.Dropped:N0} |"));
            md.AppendLine(Invariant($"| latency p50 / p99 / max | {Ms(load.P50Ms)} / {Ms(load.P99Ms)} / {Ms(load.MaxMs)} |"));
            md.AppendLine(Invariant($"| failed ClickHouse inserts (retried by the shipper) | {(load.StorageErrors is { } failed ? failed.ToString("N0", CultureInfo.InvariantCulture) : "–")} |"));
            md.AppendLine(Invariant($"| log before the stop → peak during the outage | {(outage is null || load.PeakLogBytes is null ? "–" : $"{Mb(outage.BytesBefore)} → {Mb(outage.PeakBytes)} (of {Mb(load.LogMaxBytes ?? 0)}; oldest unshipped event up to {outage.PeakOldestAgeSeconds:F1} s old)")} |"));
            md.AppendLine(Invariant($"| drained after ClickHouse's return | {(outage?.DrainedAfterReturnSeconds is { } drained ? $"{drained:F1} s" : "not before the drain timeout")} |"));
            md.AppendLine(Invariant($"| log empty after the load ended | {(load.LogDrainWaitSeconds is { } wait ? $"{wait:F1} s" : "–")} |"));
            md.AppendLine(Invariant($"| freshness p50 / p95 / p99 over the run | {Freshness(load)} |"));
            md.AppendLine(Invariant($"| storage check after the drain (every acked event stored exactly once) | {(load.VerificationPassed is null ? "not run" : load.VerificationPassed.Value && load.FailedChecks.Count == 0 ? Invariant($"passed ({load.Checks.Count} checks)") : "FAILED")} |"));
            md.AppendLine();
            md.AppendLine("The log's size every half second is in the scenario's `load/ingest-log.csv` (Unix seconds; the stop and start times are in its `scenario.txt`).");
            md.AppendLine();
        }
    }

    private static void WriteFlood(StringBuilder md, BenchResults results)
    {
        foreach (var scenario in results.Scenarios.Where(s => s.IsFlood))
        {
            md.AppendLine("## Noisy neighbours");
            md.AppendLine();
            md.AppendLine(Invariant($"{scenario.Title}. Latency is from each request's intended send time (open model); a refusal is any answer but 200. Every tenant's runs are checked against storage as every write run is."));
            md.AppendLine();
            md.AppendLine(scenario.FloodMarkdown ?? "The flood run wrote no report (see flood.log).");
            var services = Components.Services.Sum(c => scenario.CpuMs(c) ?? 0);
            if (scenario.WallSeconds > 0)
            {
                md.AppendLine(Invariant($"CPU over the scenario's window ({scenario.WallSeconds:F1} s, both phases and the drain): ") +
                    string.Join(", ", Components.Services.Select(c => Invariant($"{c} {(scenario.CpuMs(c) ?? 0) / 1000:F1} s"))) +
                    Invariant($"; the services together kept {services / 1000 / scenario.WallSeconds:F2} cores busy."));
                md.AppendLine();
            }
        }
    }

    private static void WriteCpu(StringBuilder md, BenchResults results)
    {
        md.AppendLine("## CPU per 1,000 events");
        md.AppendLine();
        md.AppendLine("CPU milliseconds (user + system, from `/proc/<pid>/stat` before and after each measured window; the load generator's " +
            "from its own process) divided by the events acked in the window, duplicates included; for the ClickHouse baseline, per " +
            "1,000 events' trait rows. A write run's window includes the wait for ingest's log to drain, so the shipper's inserts of its " +
            "events are in it. \"cores busy\" is all of it over the window's wall time; \"events per insert\" is ingest's insert size (the " +
            "shipper's blocks on ClickHouse, the group commit otherwise; from its metrics), which decides how much ClickHouse works per event.");
        md.AppendLine();
        md.AppendLine("| scenario | events | window | gateway | ingest | redis | clickhouse | services | load generator | all | cores busy | events per insert |");
        md.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var scenario in results.Scenarios.Where(s => s.Load is not null))
        {
            var events = scenario.Events;
            var services = Components.Services.Sum(c => scenario.CpuMs(c) ?? 0);
            var all = services + scenario.LoadGenCpuMs;
            var cells = Components.Services.Select(c => scenario.CpuMs(c) is { } ms ? PerThousand(ms, events) : "–");
            var note = scenario.Reads is null ? "" : " (reads included)";
            md.AppendLine(Invariant($"| {scenario.Title}{note} | {events:N0} | {scenario.WallSeconds:F1} s | {string.Join(" | ", cells)} | {PerThousand(services, events)} | {PerThousand(scenario.LoadGenCpuMs, events)} | {PerThousand(all, events)} | {(scenario.WallSeconds > 0 ? all / 1000 / scenario.WallSeconds : 0):F2} | {EventsPerInsert(scenario.Load!)} |"));
        }

        md.AppendLine();
        foreach (var idle in results.Scenarios.Where(s => s.IsIdle && s.WallSeconds > 0))
        {
            var rates = Components.Services.Select(c => Invariant($"{c} {(idle.CpuMs(c) ?? 0) / idle.WallSeconds:F0}"));
            md.AppendLine(Invariant($"With no load ({idle.Title}, {idle.WallSeconds:F1} s), in CPU-ms per second: {string.Join(", ", rates)}. ") +
                "At a rate of R events/s this alone adds 1,000 × (ms/s) / R to a column above.");
            md.AppendLine();
        }
    }

    private static void WriteMemory(StringBuilder md, BenchResults results)
    {
        md.AppendLine("## Memory");
        md.AppendLine();
        md.AppendLine("Resident set (VmRSS) sampled every second over the whole run (with each process's CPU so far, in `samples.csv`); VmHWM is the kernel's own peak at the end.");
        md.AppendLine();
        md.AppendLine("| process | peak RSS (sampled) | during | VmHWM at the end |");
        md.AppendLine("| --- | --- | --- | --- |");
        foreach (var component in Components.Services)
        {
            var peak = results.Rss.MaxBy(s => s.Kilobytes.GetValueOrDefault(component));
            var hwm = results.Meta.TryGetValue("vmhwm_kb_" + component, out var kb) ? Invariant($"{long.Parse(kb, CultureInfo.InvariantCulture) / 1024.0:F0} MB") : "–";
            md.AppendLine(peak is null
                ? Invariant($"| {component} | – | – | {hwm} |")
                : Invariant($"| {component} | {peak.Kilobytes.GetValueOrDefault(component) / 1024.0:F0} MB | {peak.Scenario} | {hwm} |"));
        }

        var loadGen = results.Scenarios.SelectMany(s => s.Runs.Select(r => (Scenario: s, Run: r.Value))).DefaultIfEmpty().MaxBy(x => x.Run?.LoadGenPeakRssBytes ?? 0);
        if (loadGen.Run is not null)
        {
            md.AppendLine(Invariant($"| load generator (largest process) | {loadGen.Run.LoadGenPeakRssBytes / 1048576.0:F0} MB | {loadGen.Scenario.Name} | (its own VmHWM) |"));
        }

        md.AppendLine();
        var sustained = results.Rss.Where(s => s.Scenario == BenchResults.SustainedScenario).ToList();
        if (sustained.Count == 0)
        {
            md.AppendLine("No sustained run (skipped).");
            md.AppendLine();
            return;
        }

        var scenario = results.Named(BenchResults.SustainedScenario);
        md.AppendLine(Invariant($"Sustained run ({scenario?.Load?.Offered ?? "?"} through the gateway, {sustained[^1].ElapsedSeconds - sustained[0].ElapsedSeconds:F0} s; every second in `sustained-rss.csv`):"));
        md.AppendLine();
        md.AppendLine("| process | start | end | max | end − start | target | within |");
        md.AppendLine("| --- | --- | --- | --- | --- | --- | --- |");
        foreach (var (component, target) in new[] { ("gateway", GatewayRssTargetMb), ("ingest", IngestRssTargetMb), ("redis", 0.0), ("clickhouse", 0.0) })
        {
            var start = sustained[0].Kilobytes.GetValueOrDefault(component) / 1024.0;
            var end = sustained[^1].Kilobytes.GetValueOrDefault(component) / 1024.0;
            var max = sustained.Max(s => s.Kilobytes.GetValueOrDefault(component)) / 1024.0;
            var targetCells = target > 0 ? Invariant($"< {target:F0} MB | {(max < target ? "yes" : "NO")}") : "– | –";
            md.AppendLine(Invariant($"| {component} | {start:F0} MB | {end:F0} MB | {max:F0} MB | {end - start:+0;-0;0} MB | {targetCells} |"));
        }

        md.AppendLine();
    }

    private static void WriteChecks(StringBuilder md, BenchResults results)
    {
        md.AppendLine("## Checks");
        md.AppendLine();
        md.AppendLine("After every write run, against ClickHouse (only the run's own rows: its message ids start with its run id) and ingest's " +
            "`/metrics`. A failed check, an error answer or a load generator that did not finish fails the script.");
        md.AppendLine();
        foreach (var scenario in results.Scenarios)
        {
            foreach (var (run, summary) in scenario.Runs.OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                if (summary.Checks.Count == 0)
                {
                    continue;
                }

                md.AppendLine(Invariant($"- **{scenario.Name}** ({run}): {(summary.VerificationPassed == true ? "passed" : "FAILED")}"));
                foreach (var check in summary.Checks)
                {
                    md.AppendLine(Invariant($"  - {(summary.FailedChecks.Contains(check) ? "FAILED " : "")}{check}"));
                }
            }
        }

        var problems = results.Problems();
        md.AppendLine();
        md.AppendLine(problems.Count == 0 ? "Result: every check passed." : "Result: FAILED.");
        foreach (var problem in problems)
        {
            md.AppendLine(Invariant($"- {problem}"));
        }
    }

    private static string Verification(Scenario scenario)
    {
        var problems = scenario.Problems().ToList();
        if (problems.Count > 0)
        {
            return "FAILED";
        }

        var checks = scenario.Runs.Values.Sum(r => r.Checks.Count);
        return checks == 0 ? "–" : Invariant($"passed ({checks} checks)");
    }

    private static string Freshness(RunSummary run) =>
        run.ShipLagP50Seconds is { } p50
            ? Invariant($"{Seconds(p50)} / {Seconds(run.ShipLagP95Seconds ?? 0)} / {Seconds(run.ShipLagP99Seconds ?? 0)}")
            : "–";

    private static string Seconds(double seconds) => seconds >= 1 ? Invariant($"{seconds:F1} s") : Invariant($"{seconds * 1000:F0} ms");

    private static string Mb(double bytes) => Invariant($"{bytes / 1048576.0:F1} MB");

    private static string EventsPerInsert(RunSummary run) =>
        run.IngestInserts is > 0 ? Invariant($"{(double)run.IngestInsertedEvents!.Value / run.IngestInserts.Value:F0}") : "–";

    private static string Ratio(double value, double? baseline) =>
        baseline is > 0 ? Invariant($"{value / baseline.Value:F2}") : "–";

    private static string PerThousand(double ms, long events) => events > 0 ? Invariant($"{ms * 1000 / events:F1}") : "–";

    private static string Ms(double ms) => ms >= 100 ? Invariant($"{ms:F0} ms") : Invariant($"{ms:F1} ms");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
