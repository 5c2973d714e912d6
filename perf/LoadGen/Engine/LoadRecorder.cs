using HdrHistogram;

namespace Platform.Perf.LoadGen.Engine;

/// <summary>What one second of a run saw, by completion time (dropped iterations by their intended time).</summary>
internal sealed record SecondSample(int Second, long Completed, long Ok, long Errors, long Dropped, long EventsAcked, double P50Ms, double P99Ms, double MaxMs);

/// <summary>
/// One answered (or failed: status 0) request. <see cref="LatencyMicros"/> counts from the intended send time,
/// <see cref="ServiceMicros"/> from the actual one. <see cref="Rows"/> counts ClickHouse rows sent (the baseline);
/// <see cref="Endpoint"/> names the query endpoint of a read.
/// </summary>
internal readonly record struct RequestOutcome(
    int Status, long LatencyMicros, long ServiceMicros, long[] Events, int Accepted, int Duplicates, int Rows = 0, string? Endpoint = null, string? Error = null);

/// <summary>One endpoint's share of a run (reads): requests, answers 200, and latency percentiles in milliseconds.</summary>
internal sealed record EndpointStats(long Requests, long Ok, double P50Ms, double P95Ms, double P99Ms, double MaxMs);

/// <summary>Collects outcomes from many concurrent senders; one lock, taken once per request.</summary>
internal sealed class LoadRecorder
{
    // Latencies in microseconds, up to an hour, to three significant digits.
    private const long HighestMicros = 3_600_000_000;

    private readonly object _gate = new();
    private readonly LongHistogram _latency = new(HighestMicros, 3);
    private readonly LongHistogram _service = new(HighestMicros, 3);
    private readonly SortedDictionary<int, long> _statuses = [];
    private readonly HashSet<long> _ackedEvents = [];
    private readonly List<SecondState> _seconds = [];
    private readonly List<string> _errorSamples = [];
    private readonly SortedDictionary<string, EndpointState> _endpoints = new(StringComparer.Ordinal);
    private long _eventsAcked;
    private long _rowsAcked;
    private long _rowsSent;
    private long _accepted;
    private long _duplicates;
    private long _dropped;
    private long _completed;
    private long _ok;

    public long Completed => Interlocked.Read(ref _completed);

    public long Ok => Interlocked.Read(ref _ok);

    public long Dropped => Interlocked.Read(ref _dropped);

    public long EventsAcked => Interlocked.Read(ref _eventsAcked);

    public void Record(int second, in RequestOutcome outcome)
    {
        var latency = Math.Clamp(outcome.LatencyMicros, 1, HighestMicros);
        lock (_gate)
        {
            _latency.RecordValue(latency);
            _service.RecordValue(Math.Clamp(outcome.ServiceMicros, 1, HighestMicros));
            _statuses[outcome.Status] = _statuses.GetValueOrDefault(outcome.Status) + 1;
            _rowsSent += outcome.Rows;
            var bucket = Second(second);
            bucket.Completed++;
            bucket.Latency.RecordValue(latency);
            if (outcome.Endpoint is { } name)
            {
                if (!_endpoints.TryGetValue(name, out var endpoint))
                {
                    _endpoints[name] = endpoint = new EndpointState();
                }

                endpoint.Latency.RecordValue(latency);
                endpoint.Completed++;
                endpoint.Ok += outcome.Status == 200 ? 1 : 0;
            }

            if (outcome.Status == 200)
            {
                bucket.Ok++;
                bucket.EventsAcked += outcome.Events.Length;
                _eventsAcked += outcome.Events.Length;
                _rowsAcked += outcome.Rows;
                _accepted += outcome.Accepted;
                _duplicates += outcome.Duplicates;
                _ok++;
                foreach (var n in outcome.Events)
                {
                    _ackedEvents.Add(n);
                }
            }
            else
            {
                bucket.Errors++;
                if (outcome.Error is { } error && _errorSamples.Count < 5 && !_errorSamples.Contains(error))
                {
                    _errorSamples.Add(error);
                }
            }

            _completed++;
        }
    }

    public void RecordDropped(int second)
    {
        lock (_gate)
        {
            Second(second).Dropped++;
            _dropped++;
        }
    }

    public LoadResult ToResult(LoadSettings settings, TimeSpan elapsed, long eventsSent)
    {
        lock (_gate)
        {
            return new LoadResult
            {
                Settings = settings,
                Elapsed = elapsed,
                Latency = _latency.Copy(),
                ServiceTime = _service.Copy(),
                Statuses = new SortedDictionary<int, long>(_statuses),
                Requests = _completed,
                Dropped = _dropped,
                EventsSent = eventsSent,
                EventsAcked = _eventsAcked,
                DistinctEventsAcked = _ackedEvents.Count,
                AckedEvents = [.. _ackedEvents],
                RowsAcked = _rowsAcked,
                RowsSent = _rowsSent,
                Endpoints = _endpoints.ToDictionary(e => e.Key, e => e.Value.ToStats(), StringComparer.Ordinal),
                AcceptedReported = _accepted,
                DuplicatesReported = _duplicates,
                ErrorSamples = [.. _errorSamples],
                Timeline = _seconds.Select((s, i) => new SecondSample(i, s.Completed, s.Ok, s.Errors, s.Dropped, s.EventsAcked,
                    s.Latency.TotalCount == 0 ? 0 : s.Latency.GetValueAtPercentile(50) / 1000.0,
                    s.Latency.TotalCount == 0 ? 0 : s.Latency.GetValueAtPercentile(99) / 1000.0,
                    s.Latency.TotalCount == 0 ? 0 : s.Latency.GetMaxValue() / 1000.0)).ToList(),
            };
        }
    }

    private SecondState Second(int second)
    {
        while (_seconds.Count <= second)
        {
            _seconds.Add(new SecondState());
        }

        return _seconds[second];
    }

    private sealed class EndpointState
    {
        public LongHistogram Latency { get; } = new(HighestMicros, 3);

        public long Completed { get; set; }

        public long Ok { get; set; }

        public EndpointStats ToStats() => new(Completed, Ok,
            Latency.GetValueAtPercentile(50) / 1000.0, Latency.GetValueAtPercentile(95) / 1000.0,
            Latency.GetValueAtPercentile(99) / 1000.0, Latency.GetMaxValue() / 1000.0);
    }

    private sealed class SecondState
    {
        public LongHistogram Latency { get; } = new(HighestMicros, 2);

        public long Completed { get; set; }

        public long Ok { get; set; }

        public long Errors { get; set; }

        public long Dropped { get; set; }

        public long EventsAcked { get; set; }
    }
}
