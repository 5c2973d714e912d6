using System.ComponentModel.DataAnnotations;

namespace Platform.Ingest.Query;

/// <summary>Section "Query": page sizes and the cost bounds of one query.</summary>
internal sealed class QueryOptions
{
    public const string Section = "Query";

    /// <summary>Rows per page when the request gives no <c>limit</c>.</summary>
    [Range(1, 10_000)]
    public int DefaultPageSize { get; set; } = 50;

    /// <summary>The largest <c>limit</c> a request may ask for.</summary>
    [Range(1, 10_000)]
    public int MaxPageSize { get; set; } = 500;

    /// <summary>Trait filters in one request.</summary>
    [Range(1, 100)]
    public int MaxFilters { get; set; } = 10;

    /// <summary>Values listed by a count when the request gives no <c>top</c>; the rest are summed as "other".</summary>
    [Range(1, 1_000)]
    public int DefaultTop { get; set; } = 10;

    /// <summary>The largest <c>top</c> a request may ask for.</summary>
    [Range(1, 10_000)]
    public int MaxTop { get; set; } = 100;
}
