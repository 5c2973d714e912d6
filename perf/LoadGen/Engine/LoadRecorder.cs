using HdrHistogram;

namespace Platform.Perf.LoadGen.Engine;

/// <summary>What one second of a run saw, by completion time (dropped iterations by their intended time).</summary>
internal sealed record SecondSample(int Second, long Completed, long Ok, long Errors, long Dropped, long EventsAcked, double P50Ms, double P99Ms, double MaxMs);

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
    private long _eventsAcked;
    private long _accepted;
    private long _duplicates;
    private long _dropped;
    private long _completed;
    private long _ok;

    public long Completed => Interlocked.Read(ref _completed);

    public long Ok => Interlocked.Read(ref _ok);

    public long Dropped => Interlocked.Read(ref _dropped);

    public long EventsAcked => Interlocked.Read(ref _eventsAcked);

    /// <summary>
    /// Records one answered (or failed: status 0) request. <paramref name="latencyMicros"/> counts from the intended send
    /// time, <paramref name="serviceMicros"/> from the actual one.
    /// </summary>
    public void Record(int second, int status, long latencyMicros, long serviceMicros, long[] events, int accepted, int duplicates, string? error = null)
    {
        lock (_gate)
        {
            _latency.RecordValue(Math.Clamp(latencyMicros, 1, HighestMicros));
            _service.RecordValue(Math.Clamp(serviceMicros, 1, HighestMicros));
            _statuses[status] = _statuses.GetValueOrDefault(status) + 1;
            var bucket = Second(second);
            bucket.Completed++;
            bucket.Latency.RecordValue(Math.Clamp(latencyMicros, 1, HighestMicros));
            if (status == 200)
            {
                bucket.Ok++;
                bucket.EventsAcked += events.Length;
                _eventsAcked += events.Length;
                _accepted += accepted;
                _duplicates += duplicates;
                _ok++;
                foreach (var n in events)
                {
                    _ackedEvents.Add(n);
                }
            }
            else
            {
                bucket.Errors++;
                if (error is not null && _errorSamples.Count < 5 && !_errorSamples.Contains(error))
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
