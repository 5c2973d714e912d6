using Microsoft.Extensions.Options;

namespace Platform.Ingest.Storage.DuckDb;

/// <summary>Where the embedded database lives. Bound from "Storage:DuckDb".</summary>
internal sealed class DuckDbOptions
{
    public const string SectionName = StorageOptions.SectionName + ":DuckDb";

    /// <summary>Directory of the database file; a relative path is resolved against the content root. Created if missing.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>The database file's name inside <see cref="DataDirectory"/> (DuckDB keeps its WAL beside it).</summary>
    public string FileName { get; set; } = "platform.duckdb";

    /// <summary>The absolute path of the database file.</summary>
    public string ResolveDatabasePath(string contentRootPath) =>
        Path.GetFullPath(Path.Combine(contentRootPath, DataDirectory, FileName));
}

internal sealed class DuckDbOptionsValidator : IValidateOptions<DuckDbOptions>
{
    public ValidateOptionsResult Validate(string? name, DuckDbOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add($"{DuckDbOptions.SectionName}:{nameof(DuckDbOptions.DataDirectory)} must not be empty.");
        }
        else if (options.DataDirectory.AsSpan().IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            failures.Add($"{DuckDbOptions.SectionName}:{nameof(DuckDbOptions.DataDirectory)} contains characters that are not valid in a path.");
        }

        if (string.IsNullOrWhiteSpace(options.FileName))
        {
            failures.Add($"{DuckDbOptions.SectionName}:{nameof(DuckDbOptions.FileName)} must not be empty.");
        }
        else if (options.FileName.AsSpan().IndexOfAny(Path.GetInvalidFileNameChars()) >= 0
            || options.FileName is "." or "..")
        {
            failures.Add($"{DuckDbOptions.SectionName}:{nameof(DuckDbOptions.FileName)} must be a file name without directory parts (got '{options.FileName}').");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
