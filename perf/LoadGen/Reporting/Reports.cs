using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using HdrHistogram;
using Platform.Perf.LoadGen.Engine;

namespace Platform.Perf.LoadGen.Reporting;

/// <summary>Writes a run's summary as Markdown, CSV and JSON, its latency distribution as an .hgrm file, and an HTML chart.</summary>
internal static class Reports
{
    private static readonly double[] Percentiles = [50, 90, 95, 99];
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static IReadOnlyList<string> Write(LoadResult result, string directory, IReadOnlyList<string> thresholdFailures)
    {
        Directory.CreateDirectory(directory);
        var files = new List<string>
        {
            WriteFile(directory, "summary.md", Markdown(result, thresholdFailures)),
            WriteFile(directory, "summary.csv", Csv(result)),
            WriteFile(directory, "summary.json", Json(result, thresholdFailures)),
            WriteFile(directory, "timeline.csv", TimelineCsv(result)),
            WriteFile(directory, "report.html", Html(result)),
        };
        if (result.Ingest is { Samples.Count: > 0 } ingest)
        {
            files.Add(WriteFile(directory, "ingest-log.csv", IngestLogCsv(ingest)));
        }

        using (var hgrm = new StringWriter(CultureInfo.InvariantCulture))
        {
            // Recorded in microseconds, written in milliseconds.
            result.Latency.OutputPercentileDistribution(hgrm, outputValueUnitScalingRatio: 1000.0);
            files.Add(WriteFile(directory, "latency.hgrm", hgrm.ToString()));
        }

        return files;
    }

    public static string StatusLine(LoadResult r) =>
        string.Join(' ', r.Statuses.Select(s => Invariant($"{(s.Key == 0 ? "failed" : s.Key.ToString(CultureInfo.InvariantCulture))}={s.Value}")));

    public static string Markdown(LoadResult r, IReadOnlyList<string> thresholdFailures)
    {
        var s = r.Settings;
        var md = new StringBuilder();
        md.AppendLine(Invariant($"# Load run {s.RunId}"));
        md.AppendLine();
        md.AppendLine(s.Workload == Workload.Reads
            ? Invariant($"{s.Model} model against {s.Target}: {s.Describe()}; {Offered(s)}, {r.Elapsed.TotalSeconds:F2} s.")
            : Invariant($"{s.Model} model against {s.Target}: {s.Describe()}; {Offered(s)}, {s.EventsPerRequest} events per request, {s.DuplicateRatio:P0} duplicates, {r.Elapsed.TotalSeconds:F2} s."));
        md.AppendLine();
        md.AppendLine("| figure | value |");
        md.AppendLine("| --- | --- |");
        md.AppendLine(Invariant($"| requests | {r.Requests} ({r.RequestsPerSecond:F1}/s) |"));
        md.AppendLine(Invariant($"| statuses | {StatusLine(r)} |"));
        md.AppendLine(Invariant($"| error rate | {r.ErrorRate:P2} |"));
        md.AppendLine(Invariant($"| dropped iterations | {r.Dropped} |"));
        if (s.Workload == Workload.Reads)
        {
            md.AppendLine(Invariant($"| reads answered 200 | {r.Ok} ({r.OkPerSecond:F1}/s) |"));
        }
        else
        {
            md.AppendLine(Invariant($"| events acked | {r.EventsAcked} ({r.EventsAckedPerSecond:F0}/s) |"));
            md.AppendLine(Invariant($"| distinct events acked | {r.DistinctEventsAcked} |"));
        }

        if (s.Workload == Workload.ClickHouseInsert)
        {
            md.AppendLine(Invariant($"| rows acked | {r.RowsAcked} ({r.RowsAckedPerSecond:F0}/s) |"));
        }
        else if (s.Workload == Workload.GroupApi)
        {
            md.AppendLine(Invariant($"| service's counts | accepted {r.AcceptedReported}, duplicates {r.DuplicatesReported} |"));
        }

        foreach (var p in Percentiles)
        {
            md.AppendLine(Invariant($"| latency p{p} | {r.LatencyMs(p):F2} ms |"));
        }

        md.AppendLine(Invariant($"| latency max | {r.MaxLatencyMs:F2} ms |"));
        md.AppendLine(Invariant($"| service time p99 (from actual send) | {r.ServiceTime.GetValueAtPercentile(99) / 1000.0:F2} ms |"));
        md.AppendLine(Invariant($"| load generator CPU during the run, peak RSS | {r.LoadGenCpu.TotalMilliseconds:F0} ms, {r.LoadGenPeakRssBytes / 1048576.0:F0} MB |"));
        md.AppendLine();
        if (r.Endpoints.Count > 0)
        {
            md.AppendLine("| endpoint | requests | 200 | p50 | p95 | p99 | max |");
            md.AppendLine("| --- | --- | --- | --- | --- | --- | --- |");
            foreach (var (endpoint, e) in r.Endpoints)
            {
                md.AppendLine(Invariant($"| `{endpoint}` | {e.Requests} | {e.Ok} | {e.P50Ms:F2} ms | {e.P95Ms:F2} ms | {e.P99Ms:F2} ms | {e.MaxMs:F2} ms |"));
            }

            md.AppendLine();
        }

        if (r.Verification is { } verification)
        {
            md.AppendLine(verification.Passed ? "Verification: passed." : "Verification: FAILED.");
            md.AppendLine();
            md.AppendLine("| check | expected | found | |");
            md.AppendLine("| --- | --- | --- | --- |");
            foreach (var check in verification.Checks)
            {
                md.AppendLine(Invariant($"| {check.Name} | {check.ExpectedText} | {check.Actual} | {(check.Passed ? "ok" : "FAILED")}{(check.Note is null ? "" : "; " + check.Note)} |"));
            }

            md.AppendLine();
            if (verification.Ingest is { } ingest)
            {
                md.AppendLine(Invariant($"Ingest's metrics over the run: {ingest.Accepted} events accepted, {ingest.Inserts} inserts, {(ingest.Inserts == 0 ? 0 : (double)ingest.InsertedEvents / ingest.Inserts):F0} events per insert."));
                md.AppendLine();
            }
        }

        if (r.Ingest is { } observed)
        {
            md.AppendLine(observed.ShipLagP50Seconds is null
                ? "Ship lag: ingest reported none (no write-ahead log, or nothing shipped)."
                : Invariant($"Ship lag (log append to stored, {observed.ShipLagCount:F0} log records, interpolated in the histogram's buckets): p50 {observed.ShipLagP50Seconds * 1000:F0} ms, p95 {observed.ShipLagP95Seconds * 1000:F0} ms, p99 {observed.ShipLagP99Seconds * 1000:F0} ms."));
            if (observed.PeakLogBytes is { } peak)
            {
                md.AppendLine();
                md.AppendLine(Invariant($"Write-ahead log: peak {peak / 1048576.0:F1} MB unshipped ({observed.PeakLogRecords:F0} records, oldest {observed.PeakOldestUnshippedAgeSeconds:F1} s) of {observed.LogMaxBytes / 1048576.0:F0} MB; drained {observed.DrainWaitSeconds:F1} s after the load ended, {observed.LogBytesLeft:F0} bytes left; {observed.StorageErrors:F0} failed storage inserts (retried)."));
            }

            md.AppendLine();
        }

        if (r.ErrorSamples.Count > 0)
        {
            md.AppendLine("Failed answers (samples):");
            foreach (var sample in r.ErrorSamples)
            {
                md.AppendLine(Invariant($"- `{sample.ReplaceLineEndings(" ")}`"));
            }

            md.AppendLine();
        }

        md.AppendLine(thresholdFailures.Count == 0 ? "Thresholds: passed." : "Thresholds failed:");
        foreach (var failure in thresholdFailures)
        {
            md.AppendLine(Invariant($"- {failure}"));
        }

        return md.ToString();
    }

    private static string Csv(LoadResult r)
    {
        var header = "run_id,model,target,requests,ok,errors,error_rate,dropped,events_acked,distinct_events_acked,events_acked_per_s,p50_ms,p90_ms,p95_ms,p99_ms,max_ms,elapsed_s,workload,rows_acked,rows_acked_per_s,ok_per_s,loadgen_cpu_ms,verification";
        var verification = r.Verification is null ? "none" : r.Verification.Passed ? "passed" : "failed";
        var row = Invariant($"{r.Settings.RunId},{r.Settings.Model},{r.Settings.Target},{r.Requests},{r.Ok},{r.Errors},{r.ErrorRate:F6},{r.Dropped},{r.EventsAcked},{r.DistinctEventsAcked},{r.EventsAckedPerSecond:F1},{r.LatencyMs(50):F3},{r.LatencyMs(90):F3},{r.LatencyMs(95):F3},{r.LatencyMs(99):F3},{r.MaxLatencyMs:F3},{r.Elapsed.TotalSeconds:F3},{r.Settings.Workload},{r.RowsAcked},{r.RowsAckedPerSecond:F1},{r.OkPerSecond:F2},{r.LoadGenCpu.TotalMilliseconds:F0},{verification}");
        return header + "\n" + row + "\n";
    }

    /// <summary>Every scrape of ingest's log: Unix time (to line up with events outside the run, e.g. a storage outage) and size.</summary>
    private static string IngestLogCsv(Verification.IngestObservation ingest)
    {
        var csv = new StringBuilder("unix_s,second,log_bytes,log_records,oldest_unshipped_age_s\n");
        foreach (var s in ingest.Samples)
        {
            csv.Append(Invariant($"{s.UnixSeconds:F3},{s.Seconds:F3},{s.Bytes:F0},{s.Records:F0},{s.OldestUnshippedAgeSeconds:F3}\n"));
        }

        return csv.ToString();
    }

    private static string TimelineCsv(LoadResult r)
    {
        var csv = new StringBuilder("second,completed,ok,errors,dropped,events_acked,p50_ms,p99_ms,max_ms\n");
        foreach (var t in r.Timeline)
        {
            csv.Append(Invariant($"{t.Second},{t.Completed},{t.Ok},{t.Errors},{t.Dropped},{t.EventsAcked},{t.P50Ms:F3},{t.P99Ms:F3},{t.MaxMs:F3}\n"));
        }

        return csv.ToString();
    }

    private static string Json(LoadResult r, IReadOnlyList<string> thresholdFailures)
    {
        var summary = new Dictionary<string, object?>
        {
            ["run_id"] = r.Settings.RunId,
            ["model"] = r.Settings.Model.ToString(),
            ["workload"] = r.Settings.Workload.ToString(),
            ["tenant"] = r.Settings.Tenant,
            ["target"] = r.Settings.Target.ToString(),
            ["offered"] = Offered(r.Settings),
            ["events_per_request"] = r.Settings.EventsPerRequest,
            ["duplicate_ratio"] = r.Settings.DuplicateRatio,
            ["elapsed_s"] = r.Elapsed.TotalSeconds,
            ["requests"] = r.Requests,
            ["statuses"] = r.Statuses.ToDictionary(s => s.Key.ToString(CultureInfo.InvariantCulture), s => s.Value),
            ["error_rate"] = r.ErrorRate,
            ["dropped"] = r.Dropped,
            ["events_sent"] = r.EventsSent,
            ["events_acked"] = r.EventsAcked,
            ["distinct_events_acked"] = r.DistinctEventsAcked,
            ["accepted_reported"] = r.AcceptedReported,
            ["duplicates_reported"] = r.DuplicatesReported,
            ["events_acked_per_s"] = r.EventsAckedPerSecond,
            ["rows_acked"] = r.RowsAcked,
            ["rows_acked_per_s"] = r.RowsAckedPerSecond,
            ["ok_per_s"] = r.OkPerSecond,
            ["loadgen_cpu_ms"] = r.LoadGenCpu.TotalMilliseconds,
            ["loadgen_peak_rss_bytes"] = r.LoadGenPeakRssBytes,
            ["latency_ms"] = new Dictionary<string, double>
            {
                ["p50"] = r.LatencyMs(50),
                ["p90"] = r.LatencyMs(90),
                ["p95"] = r.LatencyMs(95),
                ["p99"] = r.LatencyMs(99),
                ["max"] = r.MaxLatencyMs,
            },
            ["endpoints"] = r.Endpoints.ToDictionary(e => e.Key, e => new Dictionary<string, double>
            {
                ["requests"] = e.Value.Requests,
                ["ok"] = e.Value.Ok,
                ["p50"] = e.Value.P50Ms,
                ["p95"] = e.Value.P95Ms,
                ["p99"] = e.Value.P99Ms,
                ["max"] = e.Value.MaxMs,
            }),
            ["verification"] = r.Verification is null ? null : new Dictionary<string, object?>
            {
                ["passed"] = r.Verification.Passed,
                ["ingest_accepted"] = r.Verification.Ingest?.Accepted,
                ["ingest_inserts"] = r.Verification.Ingest?.Inserts,
                ["ingest_inserted_events"] = r.Verification.Ingest?.InsertedEvents,
                ["checks"] = r.Verification.Checks.Select(c => new Dictionary<string, object?>
                {
                    ["name"] = c.Name,
                    ["expected"] = c.Expected,
                    ["expected_max"] = c.ExpectedMax,
                    ["expected_text"] = c.ExpectedText,
                    ["actual"] = c.Actual,
                    ["passed"] = c.Passed,
                    ["note"] = c.Note,
                }).ToList(),
            },
            ["ingest"] = r.Ingest is not { } ingest ? null : new Dictionary<string, object?>
            {
                ["ship_lag_count"] = ingest.ShipLagCount,
                ["ship_lag_p50_s"] = ingest.ShipLagP50Seconds,
                ["ship_lag_p95_s"] = ingest.ShipLagP95Seconds,
                ["ship_lag_p99_s"] = ingest.ShipLagP99Seconds,
                ["log_peak_bytes"] = ingest.PeakLogBytes,
                ["log_peak_records"] = ingest.PeakLogRecords,
                ["log_peak_oldest_unshipped_age_s"] = ingest.PeakOldestUnshippedAgeSeconds,
                ["log_max_bytes"] = ingest.LogMaxBytes,
                ["log_drain_wait_s"] = ingest.DrainWaitSeconds,
                ["log_bytes_left"] = ingest.LogBytesLeft,
                ["storage_errors"] = ingest.StorageErrors,
            },
            ["error_samples"] = r.ErrorSamples,
            ["threshold_failures"] = thresholdFailures,
        };
        return JsonSerializer.Serialize(summary, Indented) + "\n";
    }

    /// <summary>Events acked per second and p50/p99 latency per second as two inline SVG charts; no external assets.</summary>
    private static string Html(LoadResult r)
    {
        var html = new StringBuilder();
        html.AppendLine("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Load run " + WebUtility.HtmlEncode(r.Settings.RunId) + "</title>");
        html.AppendLine("<style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}</style></head><body>");
        html.AppendLine(Invariant($"<h1>Load run {WebUtility.HtmlEncode(r.Settings.RunId)}</h1><p>{r.Settings.Model} model, {WebUtility.HtmlEncode(Offered(r.Settings))}, {r.Settings.EventsPerRequest} events per request, {r.Settings.DuplicateRatio:P0} duplicates.</p>"));
        html.AppendLine(Invariant($"<table><tr><th>events acked/s</th><td>{r.EventsAckedPerSecond:F0}</td></tr><tr><th>statuses</th><td>{WebUtility.HtmlEncode(StatusLine(r))}</td></tr><tr><th>dropped</th><td>{r.Dropped}</td></tr><tr><th>p50 / p99 / max</th><td>{r.LatencyMs(50):F2} / {r.LatencyMs(99):F2} / {r.MaxLatencyMs:F2} ms</td></tr></table>"));
        html.AppendLine("<h2>Events acked per second</h2>");
        html.AppendLine(Chart(r.Timeline, [("events acked/s", "#2a7ab0", t => t.EventsAcked)], "events/s"));
        html.AppendLine("<h2>Latency per second (from intended send time)</h2>");
        html.AppendLine(Chart(r.Timeline, [("p50", "#3a9a4a", t => t.P50Ms), ("p99", "#d0602a", t => t.P99Ms)], "ms"));
        html.AppendLine("</body></html>");
        return html.ToString();
    }

    private static string Chart(IReadOnlyList<SecondSample> timeline, (string Name, string Colour, Func<SecondSample, double> Value)[] series, string unit)
    {
        const int Width = 800, Height = 260, Left = 60, Bottom = 30, Top = 20;
        var max = Math.Max(1e-9, timeline.Count == 0 ? 1 : series.Max(s => timeline.Max(s.Value)));
        var seconds = Math.Max(1, timeline.Count - 1);
        double X(int second) => Left + ((Width - Left - 10) * (double)second / seconds);
        double Y(double value) => Top + ((Height - Top - Bottom) * (1 - (value / max)));

        var svg = new StringBuilder(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-size=\"11\">"));
        svg.Append(Invariant($"<line x1=\"{Left}\" y1=\"{Y(0):F1}\" x2=\"{Width - 10}\" y2=\"{Y(0):F1}\" stroke=\"#888\"/><line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Y(0):F1}\" stroke=\"#888\"/>"));
        svg.Append(Invariant($"<text x=\"2\" y=\"{Top + 4}\">{max:G4}</text><text x=\"2\" y=\"{Y(0):F1}\">0 {unit}</text>"));
        svg.Append(Invariant($"<text x=\"{Left}\" y=\"{Height - 8}\">0 s</text><text x=\"{Width - 40}\" y=\"{Height - 8}\">{seconds} s</text>"));
        var legend = Left + 10;
        foreach (var (name, colour, value) in series)
        {
            var points = string.Join(' ', timeline.Select(t => Invariant($"{X(t.Second):F1},{Y(value(t)):F1}")));
            svg.Append(Invariant($"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{points}\"/>"));
            svg.Append(Invariant($"<text x=\"{legend}\" y=\"{Top - 6}\" fill=\"{colour}\">{WebUtility.HtmlEncode(name)}</text>"));
            legend += 120;
        }

        return svg.Append("</svg>").ToString();
    }

    private static string Offered(LoadSettings s) => s.Model == LoadModel.Closed
        ? Invariant($"{s.Concurrency} senders")
        : s.RampTo is { } to
            ? Invariant($"{s.Rate:G}→{to:G} requests/s over {s.RampDuration.TotalSeconds:G} s, at most {s.Concurrency} in flight")
            : Invariant($"{s.Rate:G} requests/s, at most {s.Concurrency} in flight");

    private static string WriteFile(string directory, string name, string text)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
