using Microsoft.Extensions.Options;

namespace Platform.Ingest.Storage;

/// <summary>Which storage backend holds the events. Bound from the "Storage" section.</summary>
internal sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>The backend's name: "DuckDb" (embedded, the default) or "ClickHouse" (production). Matched case-insensitively.</summary>
    public string Backend { get; set; } = StorageBackends.DuckDb;

    /// <summary>ClickHouse: requests are acked from the write-ahead log and a shipper loads storage behind them.</summary>
    public bool UsesWriteAheadLog => string.Equals(Backend, StorageBackends.ClickHouse, StringComparison.OrdinalIgnoreCase);
}

/// <summary>The backend names <see cref="StorageOptions.Backend"/> accepts.</summary>
internal static class StorageBackends
{
    public const string DuckDb = "DuckDb";

    public const string ClickHouse = "ClickHouse";

    /// <summary>Every backend this build can run.</summary>
    public static IReadOnlyList<string> Supported { get; } = [DuckDb, ClickHouse];

    public static bool IsSupported(string? backend) =>
        backend is not null && Supported.Contains(backend, StringComparer.OrdinalIgnoreCase);
}

internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (StorageBackends.IsSupported(options.Backend))
        {
            return ValidateOptionsResult.Success;
        }

        return ValidateOptionsResult.Fail(
            $"{StorageOptions.SectionName}:{nameof(StorageOptions.Backend)} is '{options.Backend}'; " +
            $"supported values: {string.Join(", ", StorageBackends.Supported)}.");
    }
}
