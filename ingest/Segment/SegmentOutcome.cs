using Platform.Ingest.GroupApi;
using Platform.ServiceDefaults.Contract;

namespace Platform.Ingest.Segment;

/// <summary>
/// What a Segment-spec body held: the valid group calls as events for the ingest pipeline, the calls of other types
/// (skipped), the invalid group calls (each listed by its batch index), or a problem with the body as a whole.
/// </summary>
internal sealed class SegmentOutcome
{
    /// <summary>The valid group calls, as the pipeline takes them (no problems attached).</summary>
    public ParseOutcome Groups { get; } = new();

    /// <summary>Problems with single calls; those calls are not stored, the others are.</summary>
    public List<ApiError> CallErrors { get; } = [];

    /// <summary>Problems with the body as a whole: nothing in it can be stored.</summary>
    public List<ApiError> BodyErrors { get; } = [];

    public int Calls { get; set; }

    public int Skipped { get; set; }

    public int Rejected { get; set; }

    /// <summary>The request can never succeed as sent: a 400, which SDKs do not retry.</summary>
    public bool IsHopeless => BodyErrors.Count > 0 || (Rejected > 0 && Rejected == Calls);
}
