using System.ComponentModel.DataAnnotations;

namespace Platform.Ingest.Dedup;

/// <summary>Section "Dedup": how retried events are recognised before they reach storage.</summary>
internal sealed class DedupOptions
{
    public const string Section = "Dedup";

    /// <summary>"InMemory" (one process; the embedded default). Redis comes with the production backends.</summary>
    [RegularExpression("^(InMemory)$", ErrorMessage = "Dedup:Backend must be InMemory.")]
    public string Backend { get; set; } = "InMemory";

    /// <summary>How long a stored event's identity is remembered. Retries later than this reach storage, which still collapses them.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long a request waits for another in-flight request holding the same event before answering 503.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan InFlightWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The in-memory store's bound: at most this many remembered identities (about 80 bytes each); the oldest go first.</summary>
    [Range(1_000, 100_000_000)]
    public int MaxEntries { get; set; } = 1_000_000;
}
