using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Platform.Ingest.Storage;
using Platform.Ingest.Storage.DuckDb;

namespace Platform.Tests.Storage;

/// <summary>AddEventStorage: configuration bound and validated at start, the store ready before the host serves.</summary>
public sealed class StorageRegistrationTests : IDisposable
{
    private readonly string _contentRoot = Path.Combine(Path.GetTempPath(), "platform-tests", Guid.NewGuid().ToString("N"));

    public StorageRegistrationTests() => Directory.CreateDirectory(_contentRoot);

    public void Dispose() => Directory.Delete(_contentRoot, recursive: true);

    [Fact]
    public async Task Defaults_use_DuckDb_in_the_data_directory_under_the_content_root_ready_at_start()
    {
        using var host = BuildHost();

        await host.StartAsync();

        var store = Assert.IsType<DuckDbEventStore>(host.Services.GetRequiredService<IEventStore>());
        Assert.Equal(Path.Combine(_contentRoot, "data", "platform.duckdb"), store.DatabasePath);
        Assert.True(File.Exists(store.DatabasePath));
        Assert.True(await store.IsHealthyAsync(CancellationToken.None));
        await host.StopAsync();
    }

    [Fact]
    public async Task A_relative_data_directory_is_resolved_against_the_content_root()
    {
        using var host = BuildHost(("Storage:DuckDb:DataDirectory", "state/db"), ("Storage:DuckDb:FileName", "events.duckdb"));

        await host.StartAsync();

        Assert.True(File.Exists(Path.Combine(_contentRoot, "state", "db", "events.duckdb")));
        await host.StopAsync();
    }

    [Fact]
    public async Task An_absolute_data_directory_is_used_as_it_is()
    {
        var elsewhere = Path.Combine(_contentRoot, "elsewhere");
        using var host = BuildHost(("Storage:DuckDb:DataDirectory", elsewhere));

        await host.StartAsync();

        Assert.True(File.Exists(Path.Combine(elsewhere, "platform.duckdb")));
        await host.StopAsync();
    }

    [Fact]
    public async Task The_backend_name_is_case_insensitive()
    {
        using var host = BuildHost(("Storage:Backend", "duckdb"));

        await host.StartAsync();

        Assert.IsType<DuckDbEventStore>(host.Services.GetRequiredService<IEventStore>());
        await host.StopAsync();
    }

    [Fact]
    public async Task Disposing_the_host_closes_the_database_so_another_host_can_open_it()
    {
        using (var first = BuildHost())
        {
            await first.StartAsync();
            await first.Services.GetRequiredService<IEventStore>()
                .InsertAsync([TestEvents.Batch("t1", TestEvents.Event(1))], CancellationToken.None);
            await first.StopAsync();
        }

        using var second = BuildHost();
        await second.StartAsync();

        Assert.Equal(1, (await second.Services.GetRequiredService<IEventStore>().CountAsync("t1", CancellationToken.None)).Events);
        await second.StopAsync();
    }

    [Theory]
    [InlineData("Storage:Backend", "Postgres", "Storage:Backend")]
    [InlineData("Storage:Backend", "", "Storage:Backend")]
    [InlineData("Storage:DuckDb:DataDirectory", " ", "Storage:DuckDb:DataDirectory")]
    [InlineData("Storage:DuckDb:FileName", "", "Storage:DuckDb:FileName")]
    [InlineData("Storage:DuckDb:FileName", "nested/platform.duckdb", "Storage:DuckDb:FileName")]
    public async Task An_invalid_setting_stops_the_start_with_a_message_naming_the_key(string key, string value, string named)
    {
        using var host = BuildHost((key, value));

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_contentRoot, "data")));
    }

    private IHost BuildHost(params (string Key, string? Value)[] settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = _contentRoot });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        builder.Services.AddLogging();
        builder.AddEventStorage();
        return builder.Build();
    }
}
