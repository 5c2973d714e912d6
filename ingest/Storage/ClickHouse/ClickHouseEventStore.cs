using System.Collections.Frozen;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using ClickHouse.Driver;
using Microsoft.Extensions.Logging;
using Platform.Ingest.Shipping;

namespace Platform.Ingest.Storage.ClickHouse;

/// <summary>
/// The production backend: ClickHouse over HTTP with the official driver. One long-lived client (it pools HTTP
/// connections). Inserts send RowBinary rows written by <see cref="RowBinaryWriter"/> with an explicit column list, so no
/// schema probe is sent (18.16 lacks the format the driver's probe uses); reads use <c>FORMAT JSONEachRow</c>, the one
/// read path that works on 18.16.
/// Every value in SQL text goes through <see cref="ClickHouseSql"/>.
/// </summary>
/// <remarks>
/// ClickHouse has no transactions across tables. The events of one call are one INSERT into <c>events</c> (one row per
/// event, traits as arrays; its view derives <c>user_groups</c> from the same block), and their traits' latest changes
/// one INSERT into <c>trait_changes</c>, whose view folds them into <c>trait_states</c>. A body that fails to arrive or
/// to parse writes nothing: the server parses a block whole before it writes it (up to <c>max_insert_block_size</c>,
/// 1,048,576 rows, far above a shipped batch). A failure after a block is written (a view failing, or the second insert)
/// is answered as a failure and retried; the retry's copy collapses with what the failed attempt left, so nothing counts
/// twice. The shipper, which writes everything acked through the log, sends the state of many blocks at once
/// (<see cref="PendingStates"/>, <see cref="FlushStatesAsync"/>).
/// </remarks>
internal sealed partial class ClickHouseEventStore : IEventStore, IShippingTarget, IDisposable
{
    private static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The columns of <see cref="WriteRows"/>, in order.</summary>
    internal static readonly string[] EventColumns =
        ["tenant", "event_id", "message_id", "group_id", "user_id", "event_us", "group_type", "trait_keys", "trait_values", "context_json", "received_us"];

    /// <summary>
    /// What every call on a cluster sends. <c>insert_distributed_sync</c>: a Distributed insert answers only once every
    /// shard has its rows (otherwise the node queues them and answers at once, and a shipped block would count as stored
    /// before it is). <c>load_balancing=in_order</c>: a shard's inserts and reads go to the same replica, the node itself
    /// when it holds one (18.16 always writes a shard's rows locally when it can, and reads locally too by default),
    /// otherwise the first replica of <c>remote_servers</c> that answers; so a read through the node that took an insert
    /// sees it (a queryable ack holds) instead of meeting a replica that has not fetched the part yet. With the default
    /// (random) a read could. The next replica takes over while the first is down.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, object> ClusterSettings = new Dictionary<string, object>
    {
        ["insert_distributed_sync"] = 1,
        ["load_balancing"] = "in_order",
    };

    private readonly ClickHouseClient _client;
    private readonly ClickHouseOptions _options;
    private readonly ClickHouseLayout _layout;
    private readonly ILogger<ClickHouseEventStore> _logger;
    private readonly QueryOptions _migrationOptions;

    // The shipper's current-state changes since its last flush; only the shipping loop touches it.
    private readonly PendingTraitStates _pendingStates = new();
    private bool _sendsStateChanges = true;

    public ClickHouseEventStore(ClickHouseOptions options, ILogger<ClickHouseEventStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _layout = options.Layout;
        _logger = logger;
        var settings = options.CreateSettings();
        if (_layout.IsCluster)
        {
            foreach (var (name, value) in ClusterSettings)
            {
                settings.CustomSettings[name] = value;
            }
        }

        // Every call carries the client's settings, the cluster's too.
        _client = new ClickHouseClient(settings);

        // The driver asks for RowBinaryWithNamesAndTypes output, which 18.16 lacks and refuses for an INSERT … SELECT
        // and for the table of outcomes an ON CLUSTER statement answers.
        _migrationOptions = new QueryOptions { CustomSettings = new Dictionary<string, object> { ["default_format"] = "TabSeparated" } };
    }

    internal ClickHouseLayout Layout => _layout;

    public Task InitializeAsync(CancellationToken cancellationToken) => MigrateAsync(ClickHouseSchema.LatestVersion, cancellationToken);

    /// <summary>Applies the migrations up to <paramref name="targetVersion"/> (tests start a database at an old version).</summary>
    internal async Task MigrateAsync(int targetVersion, CancellationToken cancellationToken)
    {
        await ExecuteAsync(ClickHouseSchema.CreateDatabase(_layout), cancellationToken);
        await ExecuteAsync(ClickHouseSchema.CreateMigrationsTable(_layout), cancellationToken);
        var applied = new HashSet<int>();
        foreach (var row in await QueryAsync(ClickHouseSchema.SelectAppliedVersions(_layout), cancellationToken))
        {
            applied.Add((int)Int(row, "version"));
        }

        if (applied.Count > 0 && applied.Max() > ClickHouseSchema.LatestVersion)
        {
            throw new InvalidOperationException(
                $"The ClickHouse database {_layout.Database} has schema version {applied.Max()}, newer than this build knows " +
                $"({ClickHouseSchema.LatestVersion}). Run a newer build or point Storage:ClickHouse:Database elsewhere.");
        }

        foreach (var migration in ClickHouseSchema.Migrations)
        {
            if (applied.Contains(migration.Version) || migration.Version > targetVersion)
            {
                continue;
            }

            // Every step is IF [NOT] EXISTS or guarded: a start that dies half-way is completed by the next one.
            foreach (var step in migration.Steps(_layout))
            {
                if (step.OnlyIf is not null && Int((await QueryAsync(step.OnlyIf + " FORMAT JSONEachRow", cancellationToken))[0], "yes") == 0)
                {
                    continue;
                }

                await ExecuteAsync(step.Sql, cancellationToken);
            }

            await ExecuteAsync(ClickHouseSchema.RecordMigration(_layout, migration), cancellationToken);
            LogMigrationApplied(migration.Version, migration.Description, _layout.Database);
        }

        // Before version 5 a view of events fed trait_states (tests build such databases to migrate them).
        _sendsStateChanges = targetVersion >= ClickHouseSchema.StatesFromShipperVersion;
    }

    public async Task<InsertOutcome> InsertAsync(IReadOnlyList<IngestBatch> batches, CancellationToken cancellationToken)
    {
        // Lives for this call only: small chunks (below the large object heap's threshold) rather than the shipper's 1 MB.
        var states = new PendingTraitStates(chunkBytes: 64 * 1024);
        using var rows = WriteRows(batches, states);
        if (rows.Length > 0)
        {
            await SendRowsAsync(ClickHouseSchema.EventsV2.Name, EventColumns, rows, cancellationToken);
            await SendStatesAsync(states, cancellationToken);
        }

        // The engine collapses an event stored before at merge time, after this returns; only a read could tell.
        return InsertOutcome.Unknown;
    }

    public IShippingBlock NewBlock(int events) => new EncodedRows(events, _pendingStates);

    public async Task InsertAsync(IShippingBlock block, CancellationToken cancellationToken)
    {
        var rows = ((EncodedRows)block).Rows;
        if (rows.Length > 0)
        {
            await SendRowsAsync(ClickHouseSchema.EventsV2.Name, EventColumns, rows, cancellationToken);
        }
    }

    public int PendingStates => _pendingStates.Count;

    public async Task FlushStatesAsync(CancellationToken cancellationToken)
    {
        var written = await SendStatesAsync(_pendingStates, cancellationToken);
        if (written > 0)
        {
            MergeStatesSoon(written);
        }
    }

    /// <summary>
    /// One insert into <c>trait_changes</c> of the states held; they are cleared once ClickHouse confirmed it.
    /// Returns the rows written (none before schema version 5, where a view of <c>events</c> feeds the states).
    /// </summary>
    private async Task<int> SendStatesAsync(PendingTraitStates states, CancellationToken cancellationToken)
    {
        var count = states.Count;
        if (count == 0 || !_sendsStateChanges)
        {
            states.Clear();
            return 0;
        }

        using var rows = states.Write();
        await SendRowsAsync(ClickHouseSchema.TraitChanges.Name, PendingTraitStates.Columns, rows, cancellationToken);
        states.Clear();
        return count;
    }

    /// <summary>The RowBinary body of one insert into <c>events</c> (<see cref="EventColumns"/>); empty when there is no event.</summary>
    internal static RowBinaryWriter WriteRows(IReadOnlyList<IngestBatch> batches, PendingTraitStates? states = null)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var eventCount = 0;
        foreach (var batch in batches)
        {
            eventCount += batch.Events.Count;
        }

        var rows = new RowBinaryWriter(eventCount * 1024);
        var seen = new HashSet<(string Tenant, UInt128 Key)>(eventCount);
        foreach (var batch in batches)
        {
            var receivedUs = checked((ulong)batch.ReceivedAtMicros);
            foreach (var groupEvent in batch.Events)
            {
                // Within one call the first occurrence wins, as on every backend.
                if (!seen.Add((batch.Tenant, groupEvent.Key)))
                {
                    continue;
                }

                // Column order as in EventColumns.
                rows.String(batch.Tenant);
                rows.String(groupEvent.EventId);
                rows.NullableString(groupEvent.MessageId);
                rows.String(groupEvent.GroupId);
                rows.String(groupEvent.UserId);
                rows.UInt64(checked((ulong)groupEvent.TimestampMicros));
                rows.String(groupEvent.GroupType);
                var traits = groupEvent.Traits;
                rows.ArrayLength(traits.Length);
                foreach (var trait in traits)
                {
                    rows.String(trait.Key);
                }

                rows.ArrayLength(traits.Length);
                foreach (var trait in traits)
                {
                    // A clear is ''; a value is JSON text, never empty.
                    rows.String(trait.Json ?? string.Empty);
                }

                rows.NullableString(groupEvent.ContextJson);
                rows.UInt64(receivedUs);
                if (states is not null && traits.Length > 0)
                {
                    AddStates(states, batch.Tenant, groupEvent);
                }
            }
        }

        return rows;
    }

    private static void AddStates(PendingTraitStates states, string tenant, Events.GroupEvent groupEvent)
    {
        var utf8 = System.Text.Encoding.UTF8;
        var tenantUtf8 = utf8.GetBytes(tenant);
        var groupUtf8 = utf8.GetBytes(groupEvent.GroupId);
        states.Version(groupEvent.TimestampMicros, utf8.GetBytes(groupEvent.EventId));
        foreach (var trait in groupEvent.Traits)
        {
            states.Add(tenantUtf8, groupUtf8, utf8.GetBytes(trait.Key), utf8.GetBytes(trait.Json ?? string.Empty));
        }
    }

    public async Task<bool> IsHealthyAsync(CancellationToken cancellationToken)
    {
        try
        {
            var rows = await QueryAsync("SELECT 1 AS ok FORMAT JSONEachRow", cancellationToken).WaitAsync(HealthTimeout, cancellationToken);
            return rows.Count == 1;
        }
#pragma warning disable CA1031 // A health probe reports any failure as "not healthy".
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            LogUnhealthy(exception);
            return false;
        }
    }

    public async Task<StoredCounts> CountAsync(string tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var t = ClickHouseSql.String(tenant);
        var rows = await QueryAsync($"""
            SELECT
                (SELECT uniqExact(event_id) FROM {_layout.Table("events")} WHERE tenant = {t}) AS stored_events,
                (SELECT sum(n) FROM (SELECT any(length(trait_keys)) AS n FROM {_layout.Table("events")} WHERE tenant = {t} GROUP BY event_id)) AS stored_trait_rows,
                (SELECT count() FROM (SELECT group_id, user_id FROM {_layout.Table("user_groups")} WHERE tenant = {t} GROUP BY group_id, user_id)) AS stored_memberships
            FORMAT JSONEachRow
            """, cancellationToken);
        var row = rows[0];
        return new StoredCounts(Int(row, "stored_events"), Int(row, "stored_trait_rows"), Int(row, "stored_memberships"));
    }

    public async Task<IReadOnlyDictionary<string, string>> GetCurrentTraitsAsync(string tenant, string groupId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(groupId);
        return await ReadCurrentTraitsAsync(tenant, groupId, cancellationToken);
    }

    public void Dispose()
    {
        _disposed = true;
        _client.Dispose();
    }

    /// <summary>One INSERT ... FORMAT RowBinary; throws unless ClickHouse confirms it.</summary>
    private async Task SendRowsAsync(string table, string[] columns, RowBinaryWriter rows, CancellationToken cancellationToken)
    {
        // With useCompression the driver gzips the body itself (18.16 reads gzip, not the driver's default zstd).
        using var body = rows.AsStream();
        using var response = await _client.InsertRawStreamAsync(
            _layout.Table(table), body, "RowBinary", columns, useCompression: _options.CompressInserts, null, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var detail = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new InvalidOperationException($"ClickHouse refused the insert into {table} ({(int)response.StatusCode}): {detail}");
        }
    }

    /// <summary>
    /// A statement whose answer is not read. With the migrations' settings: ON CLUSTER answers a table of each node's
    /// outcome, which the driver would otherwise ask for in a format 18.16 lacks.
    /// </summary>
    private Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken) =>
        _client.ExecuteNonQueryAsync(sql, null, _migrationOptions, cancellationToken);

    /// <summary>Runs a query ending in FORMAT JSONEachRow and returns its rows.</summary>
    private async Task<List<JsonElement>> QueryAsync(string sql, CancellationToken cancellationToken)
    {
        var rows = new List<JsonElement>();
        foreach (var line in (await ReadAnswerAsync(sql, cancellationToken)).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var document = JsonDocument.Parse(line);
            rows.Add(document.RootElement.Clone());
        }

        return rows;
    }

    /// <summary>Runs a query ending in FORMAT JSON and returns its rows and its totals row (WITH TOTALS), if any.</summary>
    private async Task<(List<JsonElement> Rows, JsonElement? Totals)> QueryWithTotalsAsync(string sql, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(await ReadAnswerAsync(sql, cancellationToken));
        var rows = new List<JsonElement>();
        foreach (var row in document.RootElement.GetProperty("data").EnumerateArray())
        {
            rows.Add(row.Clone());
        }

        return (rows, document.RootElement.TryGetProperty("totals", out var totals) ? totals.Clone() : null);
    }

    /// <summary>A query's whole answer as text; a failure a retry can fix becomes <see cref="Query.QueryUnavailableException"/>.</summary>
    private async Task<string> ReadAnswerAsync(string sql, CancellationToken cancellationToken)
    {
        try
        {
            using var result = await _client.ExecuteRawResultAsync(sql, null, cancellationToken);
            return await result.ReadAsStringAsync();
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw new Query.QueryUnavailableException(ex);
        }
    }

    /// <summary>
    /// Failures a retry can fix: the server unreachable or timing out (the caller did not cancel), or ClickHouse saying
    /// it cannot answer now (on a cluster: a shard unreachable, a replica read-only, ZooKeeper gone). A refused
    /// statement (a syntax error, an unknown column) is a bug and stays one.
    /// </summary>
    private static bool IsUnavailable(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        HttpRequestException or IOException or TimeoutException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        DbException server => UnavailableCodes.Contains(server.ErrorCode),
        _ => false,
    };

    /// <summary>
    /// ClickHouse's error codes for "not now": TIMEOUT_EXCEEDED, TOO_MANY_SIMULTANEOUS_QUERIES, SOCKET_TIMEOUT,
    /// NETWORK_ERROR, NO_ZOOKEEPER, TABLE_IS_READ_ONLY, ALL_CONNECTION_TRIES_FAILED, ALL_REPLICAS_ARE_STALE, KEEPER_EXCEPTION.
    /// </summary>
    private static readonly FrozenSet<int> UnavailableCodes = FrozenSet.Create(159, 202, 209, 210, 225, 242, 279, 369, 999);

    /// <summary>64-bit integers arrive quoted (output_format_json_quote_64bit_integers), smaller ones as numbers.</summary>
    private static long Int(JsonElement row, string column)
    {
        var value = row.GetProperty(column);
        return value.ValueKind == JsonValueKind.String
            ? long.Parse(value.GetString()!, NumberStyles.Integer, CultureInfo.InvariantCulture)
            : value.GetInt64();
    }

    private static string Str(JsonElement row, string column) => row.GetProperty(column).GetString()!;

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied ClickHouse migration {Version} ({Description}) to database {Database}")]
    private partial void LogMigrationApplied(int version, string description, string database);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ClickHouse health check failed")]
    private partial void LogUnhealthy(Exception exception);
}
