using DuckDB.NET.Data;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Ingest.Storage.DuckDb;

namespace Platform.Tests.Storage;

/// <summary>A real DuckDB file in a fresh temporary directory, deleted (with every store opened on it) at the end.</summary>
internal sealed class TempDuckDb : IAsyncDisposable
{
    private readonly List<DuckDbEventStore> _stores = [];

    public TempDuckDb()
    {
        Directory = Path.Combine(Path.GetTempPath(), "platform-tests", Guid.NewGuid().ToString("N"));
        DatabasePath = Path.Combine(Directory, "data", "platform.duckdb");
    }

    public string Directory { get; }

    public string DatabasePath { get; }

    /// <summary>A store on this file that is not initialized yet.</summary>
    public DuckDbEventStore CreateStore()
    {
        var store = new DuckDbEventStore(DatabasePath, TimeProvider.System, NullLogger<DuckDbEventStore>.Instance);
        _stores.Add(store);
        return store;
    }

    public async Task<DuckDbEventStore> OpenStoreAsync()
    {
        var store = CreateStore();
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    /// <summary>Runs a query on a connection of its own and returns every row's values.</summary>
    public List<object?[]> Query(string sql, params object[] parameters)
    {
        using var connection = new DuckDBConnection(new DuckDBConnectionStringBuilder { DataSource = DatabasePath }.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new DuckDBParameter(parameter));
        }

        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var values = new object?[reader.FieldCount];
            reader.GetValues(values!);
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = values[i] is DBNull ? null : values[i];
            }

            rows.Add(values);
        }

        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
