using HdrHistogram;

namespace Platform.Perf.LoadGen.Engine;

/// <summary>A finished run: what was offered, what came back, and how long it took.</summary>
internal sealed record LoadResult
{
    public required LoadSettings Settings { get; init; }

    public required TimeSpan Elapsed { get; init; }

    /// <summary>Microseconds from each request's intended send time to its answer (coordinated-omission free).</summary>
    public required HistogramBase Latency { get; init; }

    /// <summary>Microseconds from each request's actual send time to its answer (what a closed-loop tool would show).</summary>
    public required HistogramBase ServiceTime { get; init; }

    /// <summary>Answers by HTTP status; 0 counts requests that got no answer (connection error or timeout).</summary>
    public required IReadOnlyDictionary<int, long> Statuses { get; init; }

    public required long Requests { get; init; }

    /// <summary>Open model: arrivals not sent because the concurrency cap was reached.</summary>
    public required long Dropped { get; init; }

    public required long EventsSent { get; init; }

    /// <summary>Events in requests answered 200, resends included.</summary>
    public required long EventsAcked { get; init; }

    /// <summary>Distinct events (by message id) in requests answered 200: what storage must hold.</summary>
    public required long DistinctEventsAcked { get; init; }

    /// <summary>The event numbers behind <see cref="DistinctEventsAcked"/> (verification counts their trait rows).</summary>
    public IReadOnlyCollection<long> AckedEvents { get; init; } = [];

    /// <summary>The ClickHouse baseline: rows in requests answered 200.</summary>
    public long RowsAcked { get; init; }

    /// <summary>The ClickHouse baseline: rows in every request sent, answered or not.</summary>
    public long RowsSent { get; init; }

    /// <summary>Reads: requests and latencies per query endpoint.</summary>
    public IReadOnlyDictionary<string, EndpointStats> Endpoints { get; init; } = new Dictionary<string, EndpointStats>();

    /// <summary>CPU time of the load generator's own process during the run (user + system).</summary>
    public TimeSpan LoadGenCpu { get; init; }

    /// <summary>The load generator's peak resident set (VmHWM) at the end of the run.</summary>
    public long LoadGenPeakRssBytes { get; init; }

    /// <summary>What storage and the service's metrics say after the run; null when not asked for.</summary>
    public Verification.StorageVerification? Verification { get; init; }

    /// <summary>Ingest's write-ahead log and freshness lag over the run, from its metrics; null when not watched.</summary>
    public Verification.IngestObservation? Ingest { get; init; }

    /// <summary>
    /// With <c>--retry</c>: events of batches acked only after more than one attempt. An earlier attempt may have been
    /// stored without its answer arriving (a process killed after the fsync), so the 200 that counts answers them as
    /// duplicates: correct, and not "accepted".
    /// </summary>
    public long RetriedEventsAcked { get; init; }

    /// <summary>Answers 429 or 503 without <c>Retry-After</c> (outside the contract); without <c>--retry</c>, where each attempt is not logged.</summary>
    public long RefusalsWithoutRetryAfter { get; init; }

    /// <summary>Sum of the service's own <c>accepted</c> counts.</summary>
    public required long AcceptedReported { get; init; }

    /// <summary>Sum of the service's own <c>duplicates</c> counts.</summary>
    public required long DuplicatesReported { get; init; }

    public required IReadOnlyList<SecondSample> Timeline { get; init; }

    /// <summary>Up to five distinct failed answers (status and the start of the body), to say why without a second run.</summary>
    public IReadOnlyList<string> ErrorSamples { get; init; } = [];

    public long Ok => Statuses.GetValueOrDefault(200);

    public long Errors => Requests - Ok;

    public double ErrorRate => Requests == 0 ? 0 : (double)Errors / Requests;

    public double EventsAckedPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : EventsAcked / Elapsed.TotalSeconds;

    public double RowsAckedPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : RowsAcked / Elapsed.TotalSeconds;

    /// <summary>Requests answered 200 per second: reads/s for the query API.</summary>
    public double OkPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : Ok / Elapsed.TotalSeconds;

    public double RequestsPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : Requests / Elapsed.TotalSeconds;

    public double LatencyMs(double percentile) => Latency.TotalCount == 0 ? 0 : Latency.GetValueAtPercentile(percentile) / 1000.0;

    public double MaxLatencyMs => Latency.TotalCount == 0 ? 0 : Latency.GetMaxValue() / 1000.0;
}
