using System.Globalization;
using System.Text;
using System.Text.Json;
using Platform.Perf.LoadGen.Verification;

namespace Platform.Perf.LoadGen.Flood;

/// <summary>
/// What the noisy-neighbour scenario showed: each quiet tenant's p50/p99 and refusals without and with the flood, all quiet
/// tenants' together, how far the flooding tenant got (held to its limit, refused with Retry-After) and storage's checks.
/// <see cref="Failures"/> are what must never happen: a quiet tenant refused, the flood over its limit or refused without
/// Retry-After, a failed storage check; a p99 ratio above <c>maxP99Ratio</c> only when one was given.
/// </summary>
internal sealed class FloodReport
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly FloodOutcome _outcome;
    private readonly IReadOnlyDictionary<TenantRun, StorageVerification> _verifications;
    private readonly IngestObservation? _ingest;
    private readonly List<string> _failures = [];

    public FloodReport(FloodOutcome outcome, IReadOnlyDictionary<TenantRun, StorageVerification>? verifications = null, IngestObservation? ingest = null,
        double? maxP99Ratio = null)
    {
        _outcome = outcome;
        _verifications = verifications ?? new Dictionary<TenantRun, StorageVerification>();
        _ingest = ingest;
        var baseline = FloodOutcome.Merged(outcome.Baseline);
        var flooded = FloodOutcome.Merged(outcome.UnderFlood);
        QuietBaselineP50Ms = Ms(baseline, 50);
        QuietBaselineP99Ms = Ms(baseline, 99);
        QuietFloodP50Ms = Ms(flooded, 50);
        QuietFloodP99Ms = Ms(flooded, 99);
        P99Ratio = QuietBaselineP99Ms > 0 ? QuietFloodP99Ms / QuietBaselineP99Ms : 0;

        var flood = outcome.Flood;
        var log = flood.Engine.Deliveries;
        var retrying = flood.Result.Settings.Retry;
        FloodAttempts = retrying ? log.Attempts() : flood.Result.Requests;
        FloodRefused429 = retrying ? log.AttemptsAnswered(429) : flood.Result.Statuses.GetValueOrDefault(429);
        FloodRefused503 = retrying ? log.AttemptsAnswered(503) : flood.Result.Statuses.GetValueOrDefault(503);
        FloodOutsideContract = retrying ? log.NonContract : flood.Result.RefusalsWithoutRetryAfter;
        var settings = outcome.Settings;
        if (settings.FloodEventsPerSecond is { } rate)
        {
            // At most the rate over the run, the burst it started with, and one request's overshoot (a request is admitted
            // while the bucket holds a token and charged whole).
            FloodBound = (long)Math.Ceiling((rate * flood.Result.Elapsed.TotalSeconds) + (settings.FloodBurst ?? 0) + settings.FloodEvents);
        }

        foreach (var run in outcome.Baseline.Concat(outcome.UnderFlood).Where(r => r.Refusals > 0))
        {
            _failures.Add(Invariant($"quiet tenant {run.Tenant} was refused {run.Refusals} of {run.Result.Requests} requests {PhaseText(run.Phase)} ({string.Join("; ", run.Result.ErrorSamples)})"));
        }

        if (flood.Result.Statuses.Keys.Any(status => status is >= 400 and < 500 and not 429))
        {
            _failures.Add(Invariant($"the flooding tenant's requests were refused for good ({Reporting.Reports.StatusLine(flood.Result)}; {string.Join("; ", flood.Result.ErrorSamples)}): the scenario must send valid batches"));
        }
        else if (flood.Result.DistinctEventsAcked == 0)
        {
            _failures.Add("the flooding tenant got nothing acked: a limit refusing everything is not a limit");
        }

        if (FloodOutsideContract > 0)
        {
            _failures.Add(Invariant($"the flooding tenant got {FloodOutsideContract} refusals without Retry-After or outside the contract"));
        }

        if (FloodBound is { } bound && flood.Result.DistinctEventsAcked > bound)
        {
            _failures.Add(Invariant($"the flooding tenant got {flood.Result.DistinctEventsAcked} events acked, above its limit's {bound}"));
        }

        foreach (var (run, verification) in _verifications)
        {
            foreach (var check in verification.Checks.Where(c => !c.Passed))
            {
                _failures.Add(Invariant($"storage, {run.Tenant} {PhaseText(run.Phase)}: {check.Name}: expected {check.ExpectedText}, found {check.Actual}"));
            }
        }

        if (maxP99Ratio is { } max && P99Ratio > max)
        {
            _failures.Add(Invariant($"the quiet tenants' p99 under the flood is {P99Ratio:F2}× their baseline's, above {max:F2}×"));
        }
    }

    public IReadOnlyList<string> Failures => _failures;

    public double QuietBaselineP50Ms { get; }

    public double QuietBaselineP99Ms { get; }

    public double QuietFloodP50Ms { get; }

    public double QuietFloodP99Ms { get; }

    public double P99Ratio { get; }

    public long FloodAttempts { get; }

    public long FloodRefused429 { get; }

    public long FloodRefused503 { get; }

    public long FloodOutsideContract { get; }

    /// <summary>The most events the flooding tenant's limit lets through over its run, when the limit is known.</summary>
    public long? FloodBound { get; }

    public long QuietRefusals => _outcome.Baseline.Concat(_outcome.UnderFlood).Sum(r => r.Refusals);

    public string Markdown()
    {
        var s = _outcome.Settings;
        var flood = _outcome.Flood.Result;
        var md = new StringBuilder();
        md.AppendLine(Invariant($"{_outcome.Baseline.Count} quiet tenants, open model at {s.QuietRate:G} requests/s each ({s.QuietEvents} events per request, {s.QuietRate * s.QuietEvents * _outcome.Baseline.Count:N0} events/s together), {s.Baseline.TotalSeconds:F0} s alone, then {s.Duration.TotalSeconds:F0} s while `{s.FloodTenant}` floods: closed model, {s.FloodConcurrency} senders, {s.FloodEvents:N0} events per request, {(!s.FloodRetry ? "refused batches dropped and the next sent at once (a runaway loop)" : s.FloodWaits ? "each refused batch resent after its Retry-After (as an SDK does)" : "each refused batch resent at once, ignoring Retry-After (a runaway retry loop)")}, starting {s.Lead.TotalSeconds:F0} s before the quiet tenants' second phase; against {s.Target}."));
        md.AppendLine();
        md.AppendLine("| quiet tenant | p50 alone | p99 alone | refused alone | p50 under the flood | p99 under the flood | refused under the flood | p99 ratio |");
        md.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var (alone, flooded) in _outcome.Baseline.Zip(_outcome.UnderFlood))
        {
            var a = alone.Result;
            var f = flooded.Result;
            md.AppendLine(Invariant($"| {alone.Tenant} | {Ms(a.LatencyMs(50))} | {Ms(a.LatencyMs(99))} | {alone.Refusals} of {a.Requests} | {Ms(f.LatencyMs(50))} | {Ms(f.LatencyMs(99))} | {flooded.Refusals} of {f.Requests} | {Ratio(f.LatencyMs(99), a.LatencyMs(99))} |"));
        }

        var baselineRequests = _outcome.Baseline.Sum(r => r.Result.Requests);
        var floodRequests = _outcome.UnderFlood.Sum(r => r.Result.Requests);
        md.AppendLine(Invariant($"| **all quiet tenants** | **{Ms(QuietBaselineP50Ms)}** | **{Ms(QuietBaselineP99Ms)}** | **{_outcome.Baseline.Sum(r => r.Refusals)} of {baselineRequests}** | **{Ms(QuietFloodP50Ms)}** | **{Ms(QuietFloodP99Ms)}** | **{_outcome.UnderFlood.Sum(r => r.Refusals)} of {floodRequests}** | **{P99Ratio:F2}** |"));
        md.AppendLine();
        var dropped = _outcome.Baseline.Concat(_outcome.UnderFlood).Sum(r => r.Result.Dropped);
        if (dropped > 0)
        {
            md.AppendLine(Invariant($"Dropped iterations (the generator's cap of {s.QuietConcurrency} in flight per tenant reached; not sent, so not refusals): {dropped}."));
            md.AppendLine();
        }

        md.AppendLine("| flooding tenant | |");
        md.AppendLine("| --- | --- |");
        md.AppendLine(Invariant($"| attempts | {FloodAttempts:N0} ({FloodAttempts / Math.Max(0.001, flood.Elapsed.TotalSeconds):F1}/s) over {flood.Elapsed.TotalSeconds:F1} s |"));
        md.AppendLine(Invariant($"| refused 429 (Retry-After) / 503 | {FloodRefused429:N0} / {FloodRefused503:N0} |"));
        md.AppendLine(Invariant($"| refusals without Retry-After or outside the contract | {FloodOutsideContract} |"));
        md.AppendLine(Invariant($"| events acked | {flood.DistinctEventsAcked:N0} ({flood.DistinctEventsAcked / Math.Max(0.001, flood.Elapsed.TotalSeconds):N0}/s) |"));
        md.AppendLine(s.FloodEventsPerSecond is { } rate
            ? Invariant($"| its limit | {rate:N0} events/s, burst {s.FloodBurst ?? 0:N0}: at most {FloodBound:N0} events over the run; {(flood.DistinctEventsAcked <= FloodBound ? "held" : "NOT held")} |")
            : "| its limit | not given |");
        md.AppendLine();
        if (_ingest?.ShipLagP50Seconds is { } lag)
        {
            md.AppendLine(Invariant($"Freshness over both phases (ship lag p50 / p99): {lag:F2} / {_ingest.ShipLagP99Seconds ?? 0:F2} s; the log peaked at {(_ingest.PeakLogBytes ?? 0) / 1048576.0:F1} MB and drained {_ingest.DrainWaitSeconds ?? 0:F1} s after the load."));
            md.AppendLine();
        }

        if (_verifications.Count > 0)
        {
            var passed = _verifications.Count(v => v.Value.Passed);
            md.AppendLine(Invariant($"Storage: {passed} of {_verifications.Count} runs passed every check (each tenant's acked events stored, none twice, all trait rows; counted per run)."));
            md.AppendLine();
        }

        md.AppendLine(_failures.Count == 0
            ? Invariant($"Result: no quiet tenant was refused; the flood was held to its limit with Retry-After; the quiet tenants' p99 under the flood is {P99Ratio:F2}× their baseline's.")
            : "Result: FAILED.");
        foreach (var failure in _failures)
        {
            md.AppendLine(Invariant($"- {failure}"));
        }

        return md.ToString();
    }

    public string Json()
    {
        var s = _outcome.Settings;
        var flood = _outcome.Flood.Result;
        var document = new Dictionary<string, object?>
        {
            ["quiet_tenants"] = _outcome.Baseline.Count,
            ["quiet_rate"] = s.QuietRate,
            ["quiet_events_per_request"] = s.QuietEvents,
            ["flood_tenant"] = s.FloodTenant,
            ["flood_concurrency"] = s.FloodConcurrency,
            ["flood_events_per_request"] = s.FloodEvents,
            ["flood_retry"] = s.FloodRetry,
            ["flood_waits"] = s.FloodWaits,
            ["quiet"] = _outcome.Baseline.Zip(_outcome.UnderFlood).Select(pair => new Dictionary<string, object?>
            {
                ["tenant"] = pair.First.Tenant,
                ["baseline"] = Phase(pair.First),
                ["flood"] = Phase(pair.Second),
            }).ToList(),
            ["quiet_all"] = new Dictionary<string, object?>
            {
                ["baseline_p50_ms"] = QuietBaselineP50Ms,
                ["baseline_p99_ms"] = QuietBaselineP99Ms,
                ["flood_p50_ms"] = QuietFloodP50Ms,
                ["flood_p99_ms"] = QuietFloodP99Ms,
                ["p99_ratio"] = P99Ratio,
                ["refusals"] = QuietRefusals,
            },
            ["flood"] = new Dictionary<string, object?>
            {
                ["attempts"] = FloodAttempts,
                ["refused_429"] = FloodRefused429,
                ["refused_503"] = FloodRefused503,
                ["outside_contract"] = FloodOutsideContract,
                ["events_acked"] = flood.DistinctEventsAcked,
                ["elapsed_s"] = flood.Elapsed.TotalSeconds,
                ["limit_events_per_s"] = s.FloodEventsPerSecond,
                ["limit_burst"] = s.FloodBurst,
                ["bound_events"] = FloodBound,
            },
            ["storage_runs_passed"] = _verifications.Count(v => v.Value.Passed),
            ["storage_runs"] = _verifications.Count,
            ["failures"] = _failures,
        };
        return JsonSerializer.Serialize(document, Indented);
    }

    private static Dictionary<string, object?> Phase(TenantRun run) => new()
    {
        ["requests"] = run.Result.Requests,
        ["refusals"] = run.Refusals,
        ["dropped"] = run.Result.Dropped,
        ["events_acked"] = run.Result.DistinctEventsAcked,
        ["p50_ms"] = run.Result.LatencyMs(50),
        ["p99_ms"] = run.Result.LatencyMs(99),
    };

    private static double Ms(HdrHistogram.HistogramBase histogram, double percentile) =>
        histogram.TotalCount == 0 ? 0 : histogram.GetValueAtPercentile(percentile) / 1000.0;

    private static string PhaseText(string phase) => phase == TenantRun.BaselinePhase ? "alone" : "under the flood";

    private static string Ms(double ms) => ms >= 100 ? Invariant($"{ms:F0} ms") : Invariant($"{ms:F1} ms");

    private static string Ratio(double value, double baseline) => baseline > 0 ? Invariant($"{value / baseline:F2}") : "–";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
