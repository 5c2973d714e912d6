namespace Platform.ServiceDefaults.Segment;

/// <summary>The Segment-compatible paths, which ingest serves and the gateway forwards: one list for both.</summary>
public static class SegmentRoutes
{
    public const string Batch = "/v1/batch";

    public const string Group = "/v1/group";

    /// <summary>The single-call paths of types other than group (acknowledged, not stored), as a route template.</summary>
    public const string OtherCall = "/v1/{type:regex(^(identify|track|page|screen|alias)$)}";
}
