using ClickHouse.Driver.ADO;
using Microsoft.Extensions.Options;

namespace Platform.Ingest.Storage.ClickHouse;

/// <summary>Section "Storage:ClickHouse": the production backend.</summary>
internal sealed class ClickHouseOptions
{
    public const string SectionName = "Storage:ClickHouse";

    /// <summary>
    /// ClickHouse.Driver connection string over HTTP, e.g. <c>Host=127.0.0.1;Port=8123;Username=default;Password=</c>.
    /// The database is set by <see cref="Database"/>; <c>JsonReadMode</c>/<c>JsonWriteMode</c> are forced to None
    /// (older servers reject the settings the other modes send).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>The database holding the tables; created when missing.</summary>
    public string Database { get; set; } = "platform";

    /// <summary>
    /// Empty: one server (or one replica set managed outside). A cluster name from the server's <c>remote_servers</c>:
    /// the schema is created ON CLUSTER as Replicated tables behind Distributed tables (see <see cref="ClickHouseLayout"/>).
    /// </summary>
    public string? Cluster { get; set; }

    /// <summary>ZooKeeper path prefix of the Replicated tables (cluster layout only); {shard} and {replica} are server macros.</summary>
    public string ReplicationPath { get; set; } = "/clickhouse/tables/{shard}";

    /// <summary>Gzip the insert bodies (worth it across a network; on loopback it only costs CPU).</summary>
    public bool CompressInserts { get; set; }

    /// <summary>How long one HTTP call (insert or query) may take.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Rows per HTTP insert request; a batch larger than this is split into several inserts.</summary>
    public int InsertBlockRows { get; set; } = 1_000_000;

    internal ClickHouseLayout Layout => new(Database, string.IsNullOrWhiteSpace(Cluster) ? null : Cluster, ReplicationPath);

    internal ClickHouseClientSettings CreateSettings()
    {
        var settings = new ClickHouseClientSettings(ConnectionString!)
        {
            JsonReadMode = global::ClickHouse.Driver.JsonReadMode.None,
            JsonWriteMode = global::ClickHouse.Driver.JsonWriteMode.None,
            Timeout = Timeout,
        };
        return settings;
    }
}

internal sealed class ClickHouseOptionsValidator(IOptions<StorageOptions> storage) : IValidateOptions<ClickHouseOptions>
{
    public ValidateOptionsResult Validate(string? name, ClickHouseOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.Equals(storage.Value.Backend, StorageBackends.ClickHouse, StringComparison.OrdinalIgnoreCase))
        {
            return ValidateOptionsResult.Success;
        }

        var problems = new List<string>();
        const string prefix = ClickHouseOptions.SectionName + ":";
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            problems.Add($"{prefix}ConnectionString is required when Storage:Backend is ClickHouse (e.g. Host=127.0.0.1;Port=8123;Username=default).");
        }
        else
        {
            try
            {
                options.CreateSettings().Validate();
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException)
            {
                problems.Add($"{prefix}ConnectionString cannot be used: {ex.Message}");
            }
        }

        if (!ClickHouseSql.IsPlainIdentifier(options.Database))
        {
            problems.Add($"{prefix}Database must be a plain identifier (ASCII letters, digits, '_'); got '{options.Database}'.");
        }

        if (!string.IsNullOrWhiteSpace(options.Cluster) && !ClickHouseSql.IsPlainIdentifier(options.Cluster))
        {
            problems.Add($"{prefix}Cluster must be a plain identifier (ASCII letters, digits, '_'); got '{options.Cluster}'.");
        }

        if (string.IsNullOrWhiteSpace(options.ReplicationPath) || options.ReplicationPath.Contains('\'', StringComparison.Ordinal))
        {
            problems.Add($"{prefix}ReplicationPath must be a non-empty ZooKeeper path without quotes.");
        }

        if (options.Timeout < TimeSpan.FromSeconds(1) || options.Timeout > TimeSpan.FromMinutes(10))
        {
            problems.Add($"{prefix}Timeout must be between 00:00:01 and 00:10:00 (got {options.Timeout:c}).");
        }

        if (options.InsertBlockRows is < 1_000 or > 10_000_000)
        {
            problems.Add($"{prefix}InsertBlockRows must be between 1000 and 10000000 (got {options.InsertBlockRows}).");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
