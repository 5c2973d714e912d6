using System.Globalization;
using StackExchange.Redis;

namespace Platform.Tests.Servers;

/// <summary>
/// Redis for a test class: one redis-server shared by every class that uses this fixture at the same time (started by
/// the first, stopped when the last is done), or the server <see cref="ExternalServers.RedisVariable"/> names. Each test
/// takes a logical database of its own (<see cref="NewDatabaseAsync"/>), emptied first, so tests never see each other's
/// keys. A test that stops Redis starts a server of its own (<see cref="RedisServer.StartAsync"/>).
/// </summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private bool _holding;

    public async Task InitializeAsync()
    {
        await SharedRedis.AcquireAsync();
        _holding = true;
    }

    public async Task DisposeAsync()
    {
        if (_holding)
        {
            _holding = false;
            await SharedRedis.ReleaseAsync();
        }
    }

    /// <summary>A logical database of the shared server that no other running test uses, empty.</summary>
    internal Task<RedisDatabase> NewDatabaseAsync() =>
        _holding ? SharedRedis.NewDatabaseAsync() : throw new InvalidOperationException("the Redis fixture is not initialized");

    /// <summary>The shared server, counted by its users.</summary>
    private static class SharedRedis
    {
        private static readonly SemaphoreSlim Lock = new(1, 1);
        private static int _users;
        private static RedisServer? _server;
        private static string _connectionString = string.Empty;
        private static int _databases;
        private static int _next;

        public static async Task AcquireAsync()
        {
            await Lock.WaitAsync();
            try
            {
                if (_users == 0)
                {
                    if (ExternalServers.Redis is { } external)
                    {
                        _connectionString = external;
                        _databases = await DatabaseCountAsync(external);
                    }
                    else
                    {
                        _server = await RedisServer.StartAsync();
                        _connectionString = _server.ConnectionString;
                        _databases = RedisServer.Databases;
                    }
                }

                _users++;
            }
            finally
            {
                Lock.Release();
            }
        }

        public static async Task ReleaseAsync()
        {
            await Lock.WaitAsync();
            try
            {
                if (--_users == 0)
                {
                    _server?.Dispose();
                    _server = null;
                }
            }
            finally
            {
                Lock.Release();
            }
        }

        public static async Task<RedisDatabase> NewDatabaseAsync()
        {
            // Database 0 is left alone (an external server's own keys live there); the others are handed out in turn.
            var number = 1 + (int)((uint)Interlocked.Increment(ref _next) % (uint)(_databases - 1));
            await using var admin = await ConnectionMultiplexer.ConnectAsync(_connectionString + ",allowAdmin=true");
            await admin.GetServer(admin.GetEndPoints()[0]).FlushDatabaseAsync(number);
            return new RedisDatabase(_connectionString, number);
        }

        private static async Task<int> DatabaseCountAsync(string connectionString)
        {
            await using var admin = await ConnectionMultiplexer.ConnectAsync(connectionString + ",allowAdmin=true");
            var setting = await admin.GetServer(admin.GetEndPoints()[0]).ConfigGetAsync("databases");
            return setting.Length == 1 ? int.Parse(setting[0].Value, CultureInfo.InvariantCulture) : 16;
        }
    }
}

/// <summary>One test's logical database of a Redis server.</summary>
internal sealed record RedisDatabase(string ServerConnectionString, int Number)
{
    /// <summary>The StackExchange.Redis configuration string that selects this database, as the services' settings take it.</summary>
    public string ConnectionString => $"{ServerConnectionString},defaultDatabase={Number}";

    /// <summary>Every key in this database, as raw bytes (for tests of the key layout).</summary>
    public Task<byte[][]> KeysAsync() => RedisKeys.AllAsync(ServerConnectionString, Number);
}
