using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

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

[OptionsValidator]
internal sealed partial class QueryOptionsValidator : IValidateOptions<QueryOptions>;

/// <summary>Each default within its bound.</summary>
internal sealed class QueryOptionsRules : IValidateOptions<QueryOptions>
{
    public ValidateOptionsResult Validate(string? name, QueryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        if (options.DefaultPageSize > options.MaxPageSize)
        {
            problems.Add($"Query:DefaultPageSize ({options.DefaultPageSize}) must not exceed Query:MaxPageSize ({options.MaxPageSize}).");
        }

        if (options.DefaultTop > options.MaxTop)
        {
            problems.Add($"Query:DefaultTop ({options.DefaultTop}) must not exceed Query:MaxTop ({options.MaxTop}).");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
