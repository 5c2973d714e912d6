using System.Globalization;

namespace Platform.Perf.LoadGen.Verification;

/// <summary>
/// One scrape of ingest's <c>/metrics</c> (Prometheus text format), read by name with every series of a name summed.
/// OpenTelemetry's exporter turns dots into underscores and may append the unit (<c>_seconds</c>, <c>_bytes</c>) and
/// <c>_total</c>, so each figure is looked up under the names it has had; one ingest without the write-ahead log (an
/// older commit) simply has no log or ship-lag series, and those figures are null.
/// </summary>
internal sealed class IngestMetrics
{
    private static readonly string[] LogBytesNames = ["platform_ingest_log_bytes", "platform_ingest_log_bytes_bytes"];
    private static readonly string[] LogRecordsNames = ["platform_ingest_log_records"];
    private static readonly string[] LogMaxBytesNames = ["platform_ingest_log_max_bytes", "platform_ingest_log_max_bytes_bytes"];
    private static readonly string[] OldestAgeNames = ["platform_ingest_log_oldest_unshipped_age_seconds", "platform_ingest_log_oldest_unshipped_age"];
    private static readonly string[] ShipLagNames = ["platform_ingest_ship_lag_seconds", "platform_ingest_ship_lag"];
    private static readonly string[] StorageErrorNames = ["platform_ingest_storage_errors_total", "platform_ingest_storage_errors"];

    private readonly Dictionary<string, double> _samples;
    private readonly Dictionary<string, SortedDictionary<double, double>> _buckets;

    private IngestMetrics(Dictionary<string, double> samples, Dictionary<string, SortedDictionary<double, double>> buckets)
    {
        _samples = samples;
        _buckets = buckets;
    }

    /// <summary>Bytes of acked events not yet in storage; null when ingest has no write-ahead log.</summary>
    public double? LogBytes => Value(LogBytesNames);

    public double? LogRecords => Value(LogRecordsNames);

    public double? LogMaxBytes => Value(LogMaxBytesNames);

    public double? OldestUnshippedAgeSeconds => Value(OldestAgeNames);

    public double StorageErrors => Value(StorageErrorNames) ?? 0;

    /// <summary>The ship lag histogram (seconds from a record's append to its insert): cumulative counts by upper bound.</summary>
    public SortedDictionary<double, double>? ShipLag => ShipLagNames.Select(n => _buckets.GetValueOrDefault(n)).FirstOrDefault(b => b is not null);

    public static IngestMetrics Parse(string exposition)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        var buckets = new Dictionary<string, SortedDictionary<double, double>>(StringComparer.Ordinal);
        foreach (var raw in exposition.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var nameEnd = line.IndexOfAny(['{', ' ']);
            if (nameEnd <= 0)
            {
                continue;
            }

            var name = line[..nameEnd];
            var labels = "";
            var rest = line[nameEnd..];
            if (rest[0] == '{')
            {
                var close = rest.IndexOf('}', StringComparison.Ordinal);
                labels = rest[1..close];
                rest = rest[(close + 1)..];
            }

            if (!double.TryParse(rest.Trim().Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            samples[name] = samples.GetValueOrDefault(name) + value;
            if (name.EndsWith("_bucket", StringComparison.Ordinal) && Label(labels, "le") is { } le)
            {
                var bound = le == "+Inf" ? double.PositiveInfinity : double.Parse(le, NumberStyles.Float, CultureInfo.InvariantCulture);
                var histogram = name[..^"_bucket".Length];
                if (!buckets.TryGetValue(histogram, out var counts))
                {
                    buckets[histogram] = counts = [];
                }

                counts[bound] = counts.GetValueOrDefault(bound) + value;
            }
        }

        return new IngestMetrics(samples, buckets);
    }

    /// <summary>
    /// The value under which a fraction <paramref name="quantile"/> of the observations between two scrapes fell,
    /// interpolated linearly inside its bucket as Prometheus' <c>histogram_quantile</c> does (so it is only as fine as the
    /// buckets); the highest finite bound when it falls in the last, unbounded bucket; null with no observations.
    /// </summary>
    public static double? Quantile(SortedDictionary<double, double>? before, SortedDictionary<double, double> after, double quantile)
    {
        var deltas = after.Select(b => (Bound: b.Key, Count: b.Value - (before?.GetValueOrDefault(b.Key) ?? 0))).ToList();
        var total = deltas.Count == 0 ? 0 : deltas[^1].Count;
        if (total <= 0)
        {
            return null;
        }

        var rank = quantile * total;
        var lowerBound = 0.0;
        var lowerCount = 0.0;
        foreach (var (bound, count) in deltas)
        {
            if (count >= rank)
            {
                if (double.IsPositiveInfinity(bound))
                {
                    return lowerBound;
                }

                return count == lowerCount ? bound : lowerBound + ((bound - lowerBound) * (rank - lowerCount) / (count - lowerCount));
            }

            lowerBound = bound;
            lowerCount = count;
        }

        return lowerBound;
    }

    /// <summary>Observations between two scrapes of a histogram (its +Inf bucket's growth).</summary>
    public static double Count(SortedDictionary<double, double>? before, SortedDictionary<double, double> after) =>
        after.Count == 0 ? 0 : after.Last().Value - (before is { Count: > 0 } ? before.Last().Value : 0);

    private double? Value(string[] names)
    {
        foreach (var name in names)
        {
            if (_samples.TryGetValue(name, out var value))
            {
                return value;
            }
        }

        return null;
    }

    private static string? Label(string labels, string name)
    {
        foreach (var pair in labels.Split(','))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && pair[..eq].Trim() == name)
            {
                return pair[(eq + 1)..].Trim().Trim('"');
            }
        }

        return null;
    }
}
