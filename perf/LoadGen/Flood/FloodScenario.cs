using HdrHistogram;
using Platform.Perf.LoadGen.Engine;

namespace Platform.Perf.LoadGen.Flood;

/// <summary>A tenant that sends at a steady rate well within its limits, and its token.</summary>
internal sealed record QuietTenant(string Tenant, string Token);

/// <summary>
/// The noisy-neighbour scenario: quiet tenants alone first (the baseline), then the same quiet tenants again while one
/// tenant floods. Both phases run in one process against one service, so the two are comparable.
/// </summary>
internal sealed record FloodSettings
{
    public required Uri Target { get; init; }

    public required string FloodTenant { get; init; }

    public required string FloodToken { get; init; }

    /// <summary>Closed-model senders of the flooding tenant.</summary>
    public int FloodConcurrency { get; init; } = 32;

    public int FloodEvents { get; init; } = 1_000;

    /// <summary>Groups the flood's events spread over: a request may touch at most 100 (<c>GroupApi:MaxGroupsPerRequest</c>).</summary>
    public int FloodGroups { get; init; } = 100;

    /// <summary>
    /// The flood resends each refused batch after its <c>Retry-After</c>, as an SDK does (true), or drops it and sends the
    /// next one at once, as a runaway loop does (false).
    /// </summary>
    public bool FloodRetry { get; init; } = true;

    /// <summary>
    /// With <see cref="FloodRetry"/>: the flood waits each refusal's <c>Retry-After</c> (true), or resends the refused batch
    /// at once, a runaway retry loop (false). Either way the bodies are generated once per batch, so the load generator
    /// (on the same cores as the services here) spends on the flood what a real client would, not a new body per attempt.
    /// </summary>
    public bool FloodWaits { get; init; } = true;

    /// <summary>The flooding tenant's configured events-per-second limit and burst, when known: the report checks it was held to them.</summary>
    public double? FloodEventsPerSecond { get; init; }

    public double? FloodBurst { get; init; }

    public required IReadOnlyList<QuietTenant> Quiet { get; init; }

    /// <summary>Open-model requests per second of each quiet tenant.</summary>
    public double QuietRate { get; init; } = 4;

    public int QuietEvents { get; init; } = 100;

    /// <summary>Each quiet tenant's cap on requests in flight.</summary>
    public int QuietConcurrency { get; init; } = 64;

    public TimeSpan Baseline { get; init; } = TimeSpan.FromSeconds(20);

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How long the flood runs before the quiet tenants' second phase starts, so all of that phase is under the flood.</summary>
    public TimeSpan Lead { get; init; } = TimeSpan.FromSeconds(3);

    public void Validate()
    {
        if (Quiet.Count == 0 || Quiet.Select(q => q.Tenant).Append(FloodTenant).Distinct(StringComparer.Ordinal).Count() != Quiet.Count + 1)
        {
            throw new ArgumentException("the scenario needs at least one quiet tenant, every tenant distinct from the others and from the flooding one");
        }

        if (Baseline <= TimeSpan.Zero || Duration <= TimeSpan.Zero || Lead < TimeSpan.Zero || QuietRate <= 0)
        {
            throw new ArgumentException("the baseline, the flood's duration and the quiet rate must be positive");
        }

        if (FloodEventsPerSecond is <= 0 || FloodBurst is <= 0)
        {
            throw new ArgumentException("the flooding tenant's limit and burst must be positive");
        }
    }

    public LoadSettings QuietSettings(QuietTenant tenant) => new()
    {
        Target = Target,
        Token = tenant.Token,
        Tenant = tenant.Tenant,
        Model = LoadModel.Open,
        Rate = QuietRate,
        Concurrency = QuietConcurrency,
        EventsPerRequest = QuietEvents,
        Duration = Duration,
    };

    public LoadSettings FloodSettingsOf() => new()
    {
        Target = Target,
        Token = FloodToken,
        Tenant = FloodTenant,
        Model = LoadModel.Closed,
        Concurrency = FloodConcurrency,
        EventsPerRequest = FloodEvents,
        Groups = FloodGroups,
        Duration = Lead + Duration,
        Retry = FloodRetry,
        RetryWaits = FloodWaits,
    };
}

/// <summary>One load engine's run in the scenario: whose, in which phase, and what came back.</summary>
internal sealed record TenantRun(string Tenant, string Phase, LoadEngine Engine, LoadResult Result)
{
    public const string BaselinePhase = "baseline";
    public const string FloodPhase = "flood";

    /// <summary>Answers other than 200 (a quiet tenant must see none).</summary>
    public long Refusals => Result.Errors;
}

/// <summary>Everything the scenario ran; see <see cref="FloodReport"/> for what it means.</summary>
internal sealed record FloodOutcome(FloodSettings Settings, IReadOnlyList<TenantRun> Baseline, IReadOnlyList<TenantRun> UnderFlood, TenantRun Flood)
{
    public IEnumerable<TenantRun> All => Baseline.Concat(UnderFlood).Append(Flood);

    /// <summary>Every quiet tenant's latencies of one phase in one histogram.</summary>
    public static HistogramBase Merged(IEnumerable<TenantRun> runs)
    {
        var merged = new LongHistogram(3_600_000_000, 3);
        foreach (var run in runs)
        {
            merged.Add(run.Result.Latency);
        }

        return merged;
    }
}

internal static class FloodScenario
{
    /// <summary>
    /// Runs the baseline (quiet tenants alone), then the flood with the quiet tenants again. Disposes nothing: the engines
    /// hold the events verification needs; the caller disposes them.
    /// </summary>
    public static async Task<FloodOutcome> RunAsync(FloodSettings settings, CancellationToken cancellationToken = default)
    {
        settings.Validate();
        var baseline = await RunQuietAsync(settings, TenantRun.BaselinePhase, cancellationToken);

        var floodEngine = new LoadEngine(settings.FloodSettingsOf());
        var flooding = floodEngine.RunAsync(cancellationToken);
        await Task.WhenAny(flooding, Task.Delay(settings.Lead, cancellationToken));
        var underFlood = await RunQuietAsync(settings, TenantRun.FloodPhase, cancellationToken);
        var flood = new TenantRun(settings.FloodTenant, TenantRun.FloodPhase, floodEngine, await flooding);
        return new FloodOutcome(settings, baseline, underFlood, flood);
    }

    private static async Task<List<TenantRun>> RunQuietAsync(FloodSettings settings, string phase, CancellationToken cancellationToken)
    {
        var engines = settings.Quiet.Select(q => (q.Tenant, Engine: new LoadEngine(settings.QuietSettings(q)))).ToList();
        var results = await Task.WhenAll(engines.Select(e => e.Engine.RunAsync(cancellationToken)));
        return [.. engines.Select((e, i) => new TenantRun(e.Tenant, phase, e.Engine, results[i]))];
    }
}
