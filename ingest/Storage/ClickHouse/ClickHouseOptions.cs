using System.ComponentModel.DataAnnotations;
using ClickHouse.Driver.ADO;
using Microsoft.Extensions.Options;

namespace Platform.Ingest.Storage.ClickHouse;

/// <summary>Section "Storage:ClickHouse": the production backend.</summary>
internal sealed class ClickHouseOptions
{
    public const string Section = StorageOptions.Section + ":ClickHouse";

    private const string Identifier = "^[A-Za-z_][A-Za-z0-9_]{0,63}$";

    private const string IdentifierMessage = "{0} must be a plain identifier (ASCII letters, digits, '_'; not starting with a digit; at most 64).";

    /// <summary>
    /// ClickHouse.Driver connection string over HTTP, e.g. <c>Host=127.0.0.1;Port=8123;Username=default;Password=</c>.
    /// The database is set by <see cref="Database"/>; <c>JsonReadMode</c>/<c>JsonWriteMode</c> are forced to None
    /// (older servers reject the settings the other modes send).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>The database holding the tables; created when missing.</summary>
    [Required]
    [RegularExpression(Identifier, ErrorMessage = IdentifierMessage)]
    public string Database { get; set; } = "platform";

    /// <summary>
    /// Empty: one server (or one replica set managed outside). A cluster name from the server's <c>remote_servers</c>:
    /// the schema is created ON CLUSTER as Replicated tables behind Distributed tables (see <see cref="ClickHouseLayout"/>).
    /// </summary>
    [RegularExpression(Identifier, ErrorMessage = IdentifierMessage)]
    public string? Cluster { get; set; }

    /// <summary>ZooKeeper path prefix of the Replicated tables (cluster layout only); {shard} and {replica} are server macros.</summary>
    [Required]
    [RegularExpression("^[^']+$", ErrorMessage = "{0} must be a ZooKeeper path without quotes.")]
    public string ReplicationPath { get; set; } = "/clickhouse/tables/{shard}";

    /// <summary>Gzip the insert bodies (worth it across a network; on loopback it only costs CPU).</summary>
    public bool CompressInserts { get; set; }

    /// <summary>
    /// After a state flush, ask ClickHouse to merge <c>trait_states</c> when the flushes rewrite most of it (see
    /// ClickHouseEventStore.StateMerges.cs): listings and counts then read one copy of each state instead of several.
    /// One server only; ignored on a cluster.
    /// </summary>
    public bool MergeStates { get; set; } = true;

    /// <summary>How long one HTTP call (insert or query) may take.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

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

[OptionsValidator]
internal sealed partial class ClickHouseOptionsValidator : IValidateOptions<ClickHouseOptions>;

/// <summary>The connection string: required, and usable by the driver, when ClickHouse is the backend.</summary>
internal sealed class ClickHouseOptionsRules(IOptions<StorageOptions> storage) : IValidateOptions<ClickHouseOptions>
{
    public ValidateOptionsResult Validate(string? name, ClickHouseOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (storage.Value.Backend != StorageBackend.ClickHouse)
        {
            return ValidateOptionsResult.Success;
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail($"{ClickHouseOptions.Section}:ConnectionString is required when Storage:Backend is ClickHouse (e.g. Host=127.0.0.1;Port=8123;Username=default).");
        }

        try
        {
            options.CreateSettings().Validate();
            return ValidateOptionsResult.Success;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException)
        {
            return ValidateOptionsResult.Fail($"{ClickHouseOptions.Section}:ConnectionString cannot be used: {ex.Message}");
        }
    }
}
