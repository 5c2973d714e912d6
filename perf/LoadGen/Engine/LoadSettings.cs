namespace Platform.Perf.LoadGen.Engine;

/// <summary>How load is offered: at a set arrival rate whatever the service does (open), or by a fixed number of senders (closed).</summary>
internal enum LoadModel
{
    /// <summary>Constant arrival rate, optionally ramped linearly; latency counts from each request's intended send time.</summary>
    Open,

    /// <summary>A fixed number of senders, each sending its next request when the last one is answered: peak throughput.</summary>
    Closed,
}

/// <summary>One run's settings. A run ends when <see cref="Requests"/> iterations were started or <see cref="Duration"/> passed, whichever comes first.</summary>
internal sealed record LoadSettings
{
    public required Uri Target { get; init; }

    public required string Token { get; init; }

    public LoadModel Model { get; init; } = LoadModel.Open;

    /// <summary>Open model: requests per second at the start.</summary>
    public double Rate { get; init; } = 50;

    /// <summary>Open model: requests per second reached at the end of <see cref="RampDuration"/> (then held); none for a constant rate.</summary>
    public double? RampTo { get; init; }

    public TimeSpan RampDuration { get; init; }

    /// <summary>Open model: the most requests in flight (an arrival beyond it is a dropped iteration). Closed model: the number of senders.</summary>
    public int Concurrency { get; init; } = 64;

    public long? Requests { get; init; }

    public TimeSpan? Duration { get; init; }

    public int EventsPerRequest { get; init; } = 100;

    /// <summary>The share of events that are resends of earlier events of the run (retries), 0 to 1.</summary>
    public double DuplicateRatio { get; init; }

    public string Path { get; init; } = "/api/group";

    public string RunId { get; init; } = Guid.NewGuid().ToString("N")[..8];

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws when the settings cannot make a bounded run against a local service.</summary>
    public void Validate()
    {
        if (!Target.IsLoopback)
        {
            throw new ArgumentException($"refusing {Target}: the load generator only loads a service on loopback");
        }

        if (Requests is null && Duration is null)
        {
            throw new ArgumentException("a run needs a bound: a request count, a duration or both");
        }

        if (Requests <= 0 || Duration <= TimeSpan.Zero)
        {
            throw new ArgumentException("the request count and the duration must be positive");
        }

        if (Rate <= 0 || RampTo <= 0 || Concurrency <= 0 || EventsPerRequest <= 0)
        {
            throw new ArgumentException("rate, ramp target, concurrency and events per request must be positive");
        }

        if (DuplicateRatio is < 0 or >= 1)
        {
            throw new ArgumentException("the duplicate ratio must be at least 0 and below 1");
        }
    }

    /// <summary>The open model's arrival rate at <paramref name="seconds"/> into the run.</summary>
    public double RateAt(double seconds) => RampTo is not { } to || RampDuration <= TimeSpan.Zero
        ? Rate
        : Rate + ((to - Rate) * Math.Min(1, seconds / RampDuration.TotalSeconds));
}
