using System.Diagnostics.CodeAnalysis;

namespace Platform.Tests.Storage;

[SuppressMessage("Reliability", "CA1001:Types that own disposable fields should be disposable", Justification = "xunit disposes test classes through IAsyncLifetime.")]
public sealed class DuckDbHealthTests : IAsyncLifetime
{
    private readonly TempDuckDb _db = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task An_initialized_store_is_healthy()
    {
        var store = await _db.OpenStoreAsync();

        Assert.True(await store.IsHealthyAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_store_that_is_not_initialized_is_unhealthy_and_creates_no_file()
    {
        var store = _db.CreateStore();

        Assert.False(await store.IsHealthyAsync(CancellationToken.None));
        Assert.False(File.Exists(_db.DatabasePath));
    }

    [Fact]
    public async Task A_disposed_store_is_unhealthy()
    {
        var store = await _db.OpenStoreAsync();
        await store.DisposeAsync();

        Assert.False(await store.IsHealthyAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Disposing_twice_and_synchronously_is_harmless()
    {
        var store = await _db.OpenStoreAsync();

        store.Dispose();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.CountAsync("t1", CancellationToken.None));
    }
}
