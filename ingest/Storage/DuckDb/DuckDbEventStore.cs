using System.Data.Common;
using DuckDB.NET.Data;
using Microsoft.Extensions.Logging;
using Platform.Ingest.Events;

namespace Platform.Ingest.Storage.DuckDb;

/// <summary>
/// The embedded backend: one DuckDB file. DuckDB allows one writer at a time, so every insert goes through a single
/// long-lived connection behind a semaphore; reads open their own short-lived connections to the same database
/// instance and see the last committed state (MVCC), so health checks and queries never wait behind an insert.
/// </summary>
/// <remarks>
/// DuckDB.NET has no truly asynchronous I/O: once the writer lock is held, an insert runs synchronously on the caller's
/// thread. The group-commit writer calls it from its own loop, so that is one thread for the duration of one batch.
/// </remarks>
internal sealed partial class DuckDbEventStore : IEventStore, IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan HealthTimeout = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _writerLock = new(1, 1);
    private readonly string _databasePath;
    private readonly string _connectionString;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<DuckDbEventStore> _logger;
    private DuckDBConnection? _writer;
    private volatile bool _disposed;

    public DuckDbEventStore(string databasePath, TimeProvider timeProvider, ILogger<DuckDbEventStore> logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        _databasePath = Path.GetFullPath(databasePath);
        _connectionString = new DuckDBConnectionStringBuilder { DataSource = _databasePath }.ConnectionString;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public string DatabasePath => _databasePath;

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await _writerLock.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_writer is not null)
            {
                return;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(_databasePath)!);
            var connection = new DuckDBConnection(_connectionString);
            try
            {
                connection.Open();
                ApplyMigrations(connection, cancellationToken);
                Execute(connection, DuckDbSchema.CreateStaging);
            }
            catch
            {
                connection.Dispose();
                throw;
            }

            Volatile.Write(ref _writer, connection);
        }
        finally
        {
            _writerLock.Release();
        }
    }

    public async Task<InsertOutcome> InsertAsync(IReadOnlyList<IngestBatch> batches, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batches);
        if (!HasEvents(batches))
        {
            return new InsertOutcome([]);
        }

        await _writerLock.WaitAsync(cancellationToken);
        try
        {
            var connection = GetWriter();
            cancellationToken.ThrowIfCancellationRequested();
            using var transaction = connection.BeginTransaction();
            try
            {
                Execute(connection, DuckDbSchema.ClearStaging);
                var staged = StageEvents(connection, batches);
                var stored = InsertNewEvents(connection, staged);
                StoreTraits(connection, stored);
                UpsertMemberships(connection, stored);
                cancellationToken.ThrowIfCancellationRequested();
                transaction.Commit();
                var added = new HashSet<GroupEvent>(stored.Count, ReferenceEqualityComparer.Instance);
                foreach (var (_, groupEvent) in stored)
                {
                    added.Add(groupEvent);
                }

                return new InsertOutcome(added);
            }
            catch (Exception exception)
            {
                RollBack(transaction, exception);
                throw;
            }
        }
        finally
        {
            _writerLock.Release();
        }
    }

    public async Task<bool> IsHealthyAsync(CancellationToken cancellationToken)
    {
        try
        {
            // On the thread pool so that a wedged database costs the probe its timeout, not its thread.
            var result = await Task.Run(
                () =>
                {
                    using var connection = OpenReader();
                    using var command = connection.CreateCommand();
                    command.CommandText = DuckDbSchema.SelectOne;
                    return command.ExecuteScalar();
                },
                cancellationToken).WaitAsync(HealthTimeout, cancellationToken);
            return result is int or long && Convert.ToInt64(result) == 1;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // A health probe reports any failure as "unhealthy"; the reason is logged.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            LogUnhealthy(exception);
            return false;
        }
    }

    public Task<StoredCounts> CountAsync(string tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = DuckDbSchema.CountForTenant;
        command.Parameters.Add(new DuckDBParameter(tenant));
        using var reader = command.ExecuteReader();
        reader.Read();
        return Task.FromResult(new StoredCounts(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)));
    }

    public Task<IReadOnlyDictionary<string, string>> GetCurrentTraitsAsync(string tenant, string groupId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(groupId);
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = OpenReader();
        return Task.FromResult<IReadOnlyDictionary<string, string>>(ReadCurrentTraits(connection, tenant, groupId));
    }

    /// <summary>Waits for the insert in flight, then closes the writer. Later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        await _writerLock.WaitAsync();
        CloseWriter();
    }

    /// <summary>
    /// The synchronous twin of <see cref="DisposeAsync"/>, so that a container disposed synchronously
    /// (which refuses singletons that are only IAsyncDisposable) still closes the database.
    /// </summary>
    public void Dispose()
    {
        _writerLock.Wait();
        CloseWriter();
    }

    /// <summary>Called with the writer lock held; releases it.</summary>
    private void CloseWriter()
    {
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _writer?.Dispose();
            _writer = null;
        }
        finally
        {
            _writerLock.Release();
        }
    }

    private void ApplyMigrations(DuckDBConnection connection, CancellationToken cancellationToken)
    {
        Execute(connection, DuckDbSchema.CreateMigrationsTable);
        var applied = new HashSet<int>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = DuckDbSchema.SelectAppliedVersions;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        if (applied.Count > 0 && applied.Max() > DuckDbSchema.LatestVersion)
        {
            throw new InvalidOperationException(
                $"The database {_databasePath} has schema version {applied.Max()}, newer than this build knows ({DuckDbSchema.LatestVersion}). " +
                "Run a newer build or point Storage:DuckDb at another file.");
        }

        foreach (var migration in DuckDbSchema.Migrations)
        {
            if (applied.Contains(migration.Version))
            {
                continue;
            }

            cancellationToken.ThrowIfCancellationRequested();
            using var transaction = connection.BeginTransaction();
            Execute(connection, migration.Sql);
            using (var command = connection.CreateCommand())
            {
                command.CommandText = DuckDbSchema.RecordMigration;
                command.Parameters.Add(new DuckDBParameter(migration.Version));
                command.Parameters.Add(new DuckDBParameter(ToEpochMicros(_timeProvider.GetUtcNow())));
                command.ExecuteNonQuery();
            }

            transaction.Commit();
            LogMigrationApplied(migration.Version, migration.Description, _databasePath);
        }
    }

    /// <summary>
    /// Appends every distinct (tenant, event id) of the call into the staging table, first occurrence wins.
    /// Returns the staged events by key so the rows DuckDB reports as new can be mapped back.
    /// </summary>
    private static Dictionary<EventKey, StagedEvent> StageEvents(DuckDBConnection connection, IReadOnlyList<IngestBatch> batches)
    {
        var staged = new Dictionary<EventKey, StagedEvent>();
        using var appender = connection.CreateAppender(DuckDbSchema.StagingCatalog, DuckDbSchema.StagingSchema, DuckDbSchema.StagingEventsTable);
        foreach (var batch in batches)
        {
            foreach (var groupEvent in batch.Events)
            {
                if (!staged.TryAdd(new EventKey(batch.Tenant, groupEvent.EventId), new StagedEvent(batch.Tenant, groupEvent)))
                {
                    continue;
                }

                // Every value below has the column's exact CLR type: the appender writes the bytes of the overload
                // the compiler picks and does not convert, so e.g. an int into a BIGINT column is silent garbage.
                long eventMicros = groupEvent.TimestampMicros;
                long receivedMicros = batch.ReceivedAtMicros;
                appender.CreateRow()
                    .AppendValue(batch.Tenant)
                    .AppendValue(groupEvent.EventId)
                    .AppendValue(groupEvent.MessageId)
                    .AppendValue(groupEvent.GroupId)
                    .AppendValue(groupEvent.UserId)
                    .AppendValue(eventMicros)
                    .AppendValue(groupEvent.GroupType)
                    .AppendValue(groupEvent.TraitsJson)
                    .AppendValue(groupEvent.ContextJson)
                    .AppendValue(receivedMicros)
                    .EndRow();
            }
        }

        appender.Close();
        return staged;
    }

    /// <summary>Inserts the staged events that are not stored yet and returns exactly those.</summary>
    private static List<StagedEvent> InsertNewEvents(DuckDBConnection connection, Dictionary<EventKey, StagedEvent> staged)
    {
        var stored = new List<StagedEvent>(staged.Count);
        using var command = connection.CreateCommand();
        command.CommandText = DuckDbSchema.InsertNewEvents;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            stored.Add(staged[new EventKey(reader.GetString(0), reader.GetString(1))]);
        }

        return stored;
    }

    /// <summary>Stages the new events' trait rows, then appends them to the history and folds them into the current values.</summary>
    private static void StoreTraits(DuckDBConnection connection, List<StagedEvent> stored)
    {
        using (var appender = connection.CreateAppender(DuckDbSchema.StagingCatalog, DuckDbSchema.StagingSchema, DuckDbSchema.StagingTraitsTable))
        {
            foreach (var (tenant, groupEvent) in stored)
            {
                var eventTime = FromEpochMicros(groupEvent.TimestampMicros);
                foreach (var trait in groupEvent.Traits)
                {
                    bool cleared = trait.Json is null;
                    appender.CreateRow()
                        .AppendValue(tenant)
                        .AppendValue(groupEvent.GroupId)
                        .AppendValue(trait.Key)
                        .AppendValue(eventTime)
                        .AppendValue(groupEvent.EventId)
                        .AppendValue(trait.Json ?? string.Empty)
                        .AppendValue(cleared)
                        .EndRow();
                }
            }

            appender.Close();
        }

        Execute(connection, DuckDbSchema.StoreTraits);
    }

    private static void UpsertMemberships(DuckDBConnection connection, List<StagedEvent> stored)
    {
        using (var appender = connection.CreateAppender(DuckDbSchema.StagingCatalog, DuckDbSchema.StagingSchema, DuckDbSchema.StagingMembershipsTable))
        {
            foreach (var (tenant, groupEvent) in stored)
            {
                long eventMicros = groupEvent.TimestampMicros;
                appender.CreateRow()
                    .AppendValue(tenant)
                    .AppendValue(groupEvent.GroupId)
                    .AppendValue(groupEvent.UserId)
                    .AppendValue(eventMicros)
                    .EndRow();
            }

            appender.Close();
        }

        Execute(connection, DuckDbSchema.UpsertMemberships);
    }

    private void RollBack(DbTransaction transaction, Exception cause)
    {
        try
        {
            transaction.Rollback();
        }
#pragma warning disable CA1031 // The insert's own exception is the one the caller must see.
        catch (Exception rollbackException)
#pragma warning restore CA1031
        {
            LogRollbackFailed(rollbackException, cause.Message);
        }
    }

    private DuckDBConnection GetWriter()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _writer ?? throw NotInitialized();
    }

    private static InvalidOperationException NotInitialized() =>
        new($"{nameof(DuckDbEventStore)} is not initialized: call {nameof(InitializeAsync)} first.");

    private DuckDBConnection OpenReader()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Volatile.Read(ref _writer) is null)
        {
            // Opening a reader first would create an empty database file that no migration has touched.
            throw NotInitialized();
        }

        var connection = new DuckDBConnection(_connectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static bool HasEvents(IReadOnlyList<IngestBatch> batches)
    {
        foreach (var batch in batches)
        {
            if (batch.Events.Count > 0)
            {
                return true;
            }
        }

        return false;
    }

    private static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long ToEpochMicros(DateTimeOffset time) => (time.UtcTicks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMicrosecond;

    private static DateTime FromEpochMicros(long micros) => DateTime.UnixEpoch.AddTicks(micros * TimeSpan.TicksPerMicrosecond);

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied storage migration {Version} ({Description}) to {DatabasePath}")]
    private partial void LogMigrationApplied(int version, string description, string databasePath);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage health check failed")]
    private partial void LogUnhealthy(Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rolling back a failed insert failed too (insert error: {InsertError})")]
    private partial void LogRollbackFailed(Exception exception, string insertError);

    private readonly record struct EventKey(string Tenant, string EventId);

    private readonly record struct StagedEvent(string Tenant, GroupEvent Event);
}
