using System.Data.Common;
using System.Globalization;

namespace Platform.Tests.Servers;

/// <summary>
/// Where a ClickHouse server answers over HTTP: the connection string ingest is given, and plain HTTP calls for the
/// tests' own checks (raw inserts, counts) with the same credentials.
/// </summary>
internal sealed class ClickHouseEndpoint
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(60) };

    private readonly string _user;
    private readonly string _password;

    public ClickHouseEndpoint(string connectionString)
    {
        ConnectionString = connectionString;
        var parts = new DbConnectionStringBuilder { ConnectionString = connectionString };
        string Part(string key, string fallback) => parts.TryGetValue(key, out var value) && value is string text && text.Length > 0 ? text : fallback;
        var scheme = Part("Protocol", "http");
        Host = Part("Host", "127.0.0.1");
        HttpPort = int.Parse(Part("Port", "8123"), CultureInfo.InvariantCulture);
        _user = Part("Username", "default");
        _password = Part("Password", string.Empty);
        HttpAddress = new Uri($"{scheme}://{Host}:{HttpPort}/");
    }

    public static ClickHouseEndpoint Local(int httpPort) => new($"Host=127.0.0.1;Port={httpPort};Username=default;Password=");

    /// <summary>ClickHouse.Driver's connection string, as ingest's Storage:ClickHouse:ConnectionString takes it.</summary>
    public string ConnectionString { get; }

    public string Host { get; }

    public int HttpPort { get; }

    public Uri HttpAddress { get; }

    /// <summary>The HTTP interface's address for one statement (in the URL, so a POST body can carry its data), or for a statement sent as the body.</summary>
    public Uri Url(string? sql = null, string? settings = null)
    {
        var query = $"?user={Uri.EscapeDataString(_user)}&password={Uri.EscapeDataString(_password)}";
        if (sql is not null)
        {
            query += "&query=" + Uri.EscapeDataString(sql);
        }

        if (settings is not null)
        {
            query += "&" + settings;
        }

        return new Uri(HttpAddress, query);
    }

    /// <summary>Runs one statement and returns its output, trimmed; throws with ClickHouse's message when refused.</summary>
    public async Task<string> QueryAsync(string sql, string? settings = null)
    {
        using var content = new StringContent(sql);
        using var response = await Http.PostAsync(Url(settings: settings), content);
        var body = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? body.Trim() : throw new InvalidOperationException($"ClickHouse refused: {sql}\n{body}");
    }

    /// <summary>A query answering one number.</summary>
    public async Task<long> ScalarAsync(string sql, string? settings = null) =>
        long.Parse(await QueryAsync(sql, settings), NumberStyles.Integer, CultureInfo.InvariantCulture);

    /// <summary>True when the server answers <c>SELECT 1</c> now.</summary>
    public async Task<bool> AnswersAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            using var response = await Http.GetAsync(Url("SELECT 1"), timeout.Token);
            return response.IsSuccessStatusCode && (await response.Content.ReadAsStringAsync(timeout.Token)).Trim() == "1";
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}
