using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Ingest.Storage.DuckDb;

/// <summary>Where the embedded database lives. Bound from "Storage:DuckDb".</summary>
internal sealed class DuckDbOptions
{
    public const string Section = StorageOptions.Section + ":DuckDb";

    /// <summary>Directory of the database file; a relative path is resolved against the content root. Created if missing.</summary>
    [Required(ErrorMessage = "{0} must not be empty.")]
    [Path]
    public string DataDirectory { get; set; } = "data";

    /// <summary>The database file's name inside <see cref="DataDirectory"/> (DuckDB keeps its WAL beside it).</summary>
    [Required(ErrorMessage = "{0} must not be empty.")]
    [FileName]
    public string FileName { get; set; } = "platform.duckdb";

    /// <summary>The absolute path of the database file.</summary>
    public string ResolveDatabasePath(string contentRootPath) =>
        System.IO.Path.GetFullPath(System.IO.Path.Combine(contentRootPath, DataDirectory, FileName));
}

[OptionsValidator]
internal sealed partial class DuckDbOptionsValidator : IValidateOptions<DuckDbOptions>;
