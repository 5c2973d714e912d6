namespace Platform.Perf.LoadGen.Engine;

/// <summary>How load is offered: at a set arrival rate whatever the service does (open), or by a fixed number of senders (closed).</summary>
internal enum LoadModel
{
    /// <summary>Constant arrival rate, optionally ramped linearly; latency counts from each request's intended send time.</summary>
    Open,

    /// <summary>A fixed number of senders, each sending its next request when the last one is answered: peak throughput.</summary>
    Closed,
}

/// <summary>What each request of a run is.</summary>
internal enum Workload
{
    /// <summary><c>POST /api/group</c> with Group API bodies (ingest, or the gateway in front of it).</summary>
    GroupApi,

    /// <summary>GETs on the query API: group profiles, members, filtered listings, counts (see <see cref="Bodies.QueryReads"/>).</summary>
    Reads,

    /// <summary>
    /// The baseline: ClickHouse's own HTTP <c>INSERT ... FORMAT JSONEachRow</c> of the trait rows ingest would write for the
    /// same events, into a table of <c>group_traits</c>' shape.
    /// </summary>
    ClickHouseInsert,
}

/// <summary>One run's settings. A run ends when <see cref="Requests"/> iterations were started or <see cref="Duration"/> passed, whichever comes first.</summary>
internal sealed record LoadSettings
{
    public required Uri Target { get; init; }

    /// <summary>The bearer token; the ClickHouse baseline sends none (ClickHouse's default user on loopback).</summary>
    public string? Token { get; init; }

    public Workload Workload { get; init; } = Workload.GroupApi;

    /// <summary>The tenant the run writes as: the ClickHouse baseline's <c>tenant</c> column, and what verification counts.</summary>
    public string? Tenant { get; init; }

    /// <summary>The ClickHouse baseline's table, <c>database.table</c>, shaped like ingest's <c>group_traits</c>.</summary>
    public string ClickHouseTable { get; init; } = "bench.group_traits";

    /// <summary>Reads: groups are drawn from the events numbered below this (see <see cref="Bodies.QueryReads"/>).</summary>
    public long SeededEvents { get; init; } = 10_000;

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

    /// <summary>
    /// How many distinct groups the run's events spread over. A request must not touch more than ingest's
    /// <c>GroupApi:MaxGroupsPerRequest</c> (100): with 1,000-event requests, use at most that many.
    /// </summary>
    public int Groups { get; init; } = 5_000;

    /// <summary>The share of events that are resends of earlier events of the run (retries), 0 to 1.</summary>
    public double DuplicateRatio { get; init; }

    public string Path { get; init; } = "/api/group";

    public string RunId { get; init; } = Guid.NewGuid().ToString("N")[..8];

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Group API only: each batch is sent until answered 200, as a retrying SDK does: the same body again after the
    /// answer's <c>Retry-After</c> (429, 5xx) or a short backoff (no answer), so ingest's dedup makes the retries exactly-once.
    /// </summary>
    public bool Retry { get; init; }

    /// <summary>
    /// With <see cref="Retry"/>: wait what <c>Retry-After</c> says (or back off) before resending (true), or resend a
    /// refused batch at once, ignoring <c>Retry-After</c>, as a runaway retry loop does (false; a batch still refused when
    /// the run's duration ends is given up).
    /// </summary>
    public bool RetryWaits { get; init; } = true;

    /// <summary>With <see cref="Retry"/>: how long after its first send a batch is given up on.</summary>
    public TimeSpan RetryDeadline { get; init; } = TimeSpan.FromSeconds(120);

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

        if (Rate <= 0 || RampTo <= 0 || Concurrency <= 0 || EventsPerRequest <= 0 || Groups <= 0)
        {
            throw new ArgumentException("rate, ramp target, concurrency, events per request and groups must be positive");
        }

        if (DuplicateRatio is < 0 or >= 1)
        {
            throw new ArgumentException("the duplicate ratio must be at least 0 and below 1");
        }

        if (Workload != Workload.ClickHouseInsert && string.IsNullOrEmpty(Token))
        {
            throw new ArgumentException("no token: the Group API and the query API need one");
        }

        if (Workload == Workload.ClickHouseInsert && (string.IsNullOrEmpty(Tenant) || !IsTableName(ClickHouseTable)))
        {
            throw new ArgumentException("the ClickHouse baseline needs a tenant and a table named database.table (letters, digits, '_')");
        }

        if (Retry && (Workload != Workload.GroupApi || RetryDeadline <= TimeSpan.Zero))
        {
            throw new ArgumentException("retrying is for the Group API workload, with a positive retry deadline");
        }

        if (SeededEvents <= 0)
        {
            throw new ArgumentException("the seeded event count must be positive");
        }
    }

    /// <summary>What each request is, for reports.</summary>
    public string Describe() => Workload switch
    {
        Workload.ClickHouseInsert => $"ClickHouse HTTP INSERT INTO {ClickHouseTable} FORMAT JSONEachRow (trait rows)",
        Workload.Reads => "query API reads (GET /api/groups/{id}, …/users, /api/groups?trait.planName=, /api/traits/planName/counts)",
        _ => $"POST {Path}",
    };

    /// <summary>The open model's arrival rate at <paramref name="seconds"/> into the run.</summary>
    public double RateAt(double seconds) => RampTo is not { } to || RampDuration <= TimeSpan.Zero
        ? Rate
        : Rate + ((to - Rate) * Math.Min(1, seconds / RampDuration.TotalSeconds));

    private static bool IsTableName(string name)
    {
        var parts = name.Split('.');
        return parts.Length == 2 && parts.All(p => p.Length > 0 && p.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'));
    }
}
