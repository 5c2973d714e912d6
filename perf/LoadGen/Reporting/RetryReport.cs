using System.Globalization;
using System.Text;
using Platform.Perf.LoadGen.Engine;

namespace Platform.Perf.LoadGen.Reporting;

/// <summary>
/// A retrying run's files: <c>deliveries.csv</c> (one line per batch) and <c>retry.txt</c>, key=value lines the fault
/// suite (perf/Faults/run.sh) reads into its table: attempts by status, answers outside the contract, batches delivered,
/// delivery time (first send to the 200) p99 and max, and from storage the acked events lost and the raw repeats.
/// </summary>
internal static class RetryReport
{
    public static IReadOnlyList<string> Write(DeliveryLog log, LoadResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        var deliveries = log.Deliveries.ToList();
        var times = deliveries.Where(d => d.Delivered).Select(d => (d.DeliveredUnix - d.FirstSentUnix) * 1000).Order().ToList();
        var text = new StringBuilder();
        void Line(string key, object? value) => text.Append(CultureInfo.InvariantCulture, $"{key}={value}\n");
        Line("batches", deliveries.Count);
        Line("delivered", times.Count);
        Line("attempts", log.Attempts());
        Line("statuses", log.AttemptStatuses());
        Line("non_contract", log.NonContract);
        Line("delivery_p99_ms", times.Count == 0 ? "" : Percentile(times, 0.99).ToString("F0", CultureInfo.InvariantCulture));
        Line("delivery_max_ms", times.Count == 0 ? "" : times[^1].ToString("F0", CultureInfo.InvariantCulture));
        Line("lost", result.Verification?.Lost);
        Line("raw_repeats", result.Verification?.RawRepeats);
        Line("failed_inserts", result.Verification?.Ingest?.FailedInserts);
        Line("verified", result.Verification is null ? "" : result.Verification.Passed ? "yes" : "no");
        foreach (var sample in log.NonContractSamples())
        {
            Line("non_contract_sample", sample.ReplaceLineEndings(" "));
        }

        var csv = Path.Combine(directory, "deliveries.csv");
        File.WriteAllText(csv, log.Csv());
        var summary = Path.Combine(directory, "retry.txt");
        File.WriteAllText(summary, text.ToString());
        return [csv, summary];
    }

    /// <summary>The nearest-rank percentile of sorted values.</summary>
    private static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
