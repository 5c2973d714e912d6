using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Platform.Ingest.Storage;

/// <summary>Which storage backend holds the events. Bound from the "Storage" section.</summary>
internal sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>The backend: DuckDb (embedded, the default) or ClickHouse (production). Matched case-insensitively.</summary>
    [EnumDataType(typeof(StorageBackend))]
    public StorageBackend Backend { get; set; } = StorageBackend.DuckDb;

    /// <summary>ClickHouse: requests are acked from the write-ahead log and a shipper loads storage behind them.</summary>
    public bool UsesWriteAheadLog => Backend == StorageBackend.ClickHouse;
}

/// <summary>The storage backends this build can run.</summary>
internal enum StorageBackend
{
    /// <summary>The embedded database file: one process, nothing to install.</summary>
    DuckDb,

    /// <summary>The production store, loaded from the write-ahead log.</summary>
    ClickHouse,
}

[OptionsValidator]
internal sealed partial class StorageOptionsValidator : IValidateOptions<StorageOptions>;
