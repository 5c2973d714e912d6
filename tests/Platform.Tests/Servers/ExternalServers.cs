namespace Platform.Tests.Servers;

/// <summary>
/// Environment variables that point the suite at servers someone else runs, instead of the throwaway ones the fixtures
/// start (as clickhouse-cs's tests honour CLICKHOUSE_CONNECTION). Tests that stop or kill a server, and the cluster
/// tests, always start their own: they must not take down a server they do not own.
/// </summary>
internal static class ExternalServers
{
    /// <summary>A StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c>. Each test gets a logical database of its own and empties it first.</summary>
    public const string RedisVariable = "PLATFORM_TEST_REDIS";

    /// <summary>A ClickHouse.Driver connection string, e.g. <c>Host=127.0.0.1;Port=8123;Username=default;Password=</c>. Tests create databases named <c>t_…</c> and drop them at the end.</summary>
    public const string ClickHouseVariable = "PLATFORM_TEST_CLICKHOUSE";

    public static string? Redis => Value(RedisVariable);

    public static string? ClickHouse => Value(ClickHouseVariable);

    private static string? Value(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
}
