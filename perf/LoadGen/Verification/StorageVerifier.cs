using System.Globalization;
using System.Text;
using Platform.Perf.LoadGen.Bodies;
using Platform.Perf.LoadGen.Engine;

namespace Platform.Perf.LoadGen.Verification;

/// <summary>Where a run is checked: ClickHouse's HTTP interface and the database ingest writes to, and ingest's metrics.</summary>
internal sealed record VerifySettings
{
    public required Uri ClickHouse { get; init; }

    /// <summary>Ingest's database (<c>Storage:ClickHouse:Database</c>).</summary>
    public string Database { get; init; } = "platform";

    /// <summary>
    /// A table of every event row ever inserted (<c>tenant</c>, <c>event_id</c>, <c>message_id</c>), in a plain MergeTree fed
    /// by a materialized view on the events table: it never collapses duplicates, so its row count is the raw count.
    /// Without it the raw count comes from the events table itself, where a background merge may already have collapsed a
    /// stored duplicate (the check can then miss one, never invent one).
    /// </summary>
    public string? RawEventsTable { get; init; }

    /// <summary>Ingest's <c>/metrics</c>: its accepted-events counter must move by what the answers said.</summary>
    public Uri? IngestMetrics { get; init; }

    public void Validate()
    {
        if (!ClickHouse.IsLoopback || IngestMetrics is { IsLoopback: false })
        {
            throw new ArgumentException("verification only reads from services on loopback");
        }

        if (!IsIdentifier(Database) || (RawEventsTable is { } raw && !raw.Split('.').All(IsIdentifier)))
        {
            throw new ArgumentException("the database and the raw events table must be plain names (letters, digits, '_'; database.table)");
        }
    }

    private static bool IsIdentifier(string name) => name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}

/// <summary>One comparison of what the run was told against what storage or the service's metrics hold.</summary>
internal sealed record VerificationCheck(string Name, long Expected, long Actual, string? Note = null)
{
    public bool Passed => Expected == Actual;
}

/// <summary>Every check of one run; it passes when each does.</summary>
internal sealed record StorageVerification(IReadOnlyList<VerificationCheck> Checks)
{
    public bool Passed => Checks.All(c => c.Passed);
}

/// <summary>
/// Checks a finished run against storage: every distinct event acked is stored, none twice, with all its trait rows, and
/// the service's answers and its own counter agree. Counts only the run's own rows (its message ids, or for the ClickHouse
/// baseline its event ids, start with the run id), so runs can share a tenant.
/// </summary>
internal sealed class StorageVerifier : IDisposable
{
    private const string AcceptedCounter = "platform_ingest_events_accepted_total";

    private readonly VerifySettings _settings;
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(60) };

    public StorageVerifier(VerifySettings settings)
    {
        settings.Validate();
        _settings = settings;
    }

    /// <summary>Ingest's accepted-events counter now (all series summed), or null without a metrics address.</summary>
    public async Task<long?> ReadAcceptedCounterAsync(CancellationToken cancellationToken = default)
    {
        if (_settings.IngestMetrics is not { } metrics)
        {
            return null;
        }

        var text = await _http.GetStringAsync(metrics, cancellationToken);
        return (long)SumCounter(text, AcceptedCounter);
    }

    public async Task<StorageVerification> VerifyAsync(LoadResult result, GroupEvents events, long? acceptedBefore, CancellationToken cancellationToken = default)
    {
        var settings = result.Settings;
        var tenant = settings.Tenant ?? throw new ArgumentException("verification needs the run's tenant");
        return settings.Workload switch
        {
            Workload.GroupApi => await VerifyGroupApiAsync(result, events, tenant, acceptedBefore, cancellationToken),
            Workload.ClickHouseInsert => await VerifyBaselineAsync(result, tenant, cancellationToken),
            _ => new StorageVerification([]),
        };
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Sums every sample of a counter in Prometheus' text format (its series differ only by labels).</summary>
    internal static double SumCounter(string exposition, string name)
    {
        var sum = 0.0;
        foreach (var line in exposition.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal) || line.Length == name.Length || (line[name.Length] != ' ' && line[name.Length] != '{'))
            {
                continue;
            }

            var afterLabels = line[name.Length] == '{' ? line.IndexOf('}', StringComparison.Ordinal) + 1 : name.Length;
            var value = line[afterLabels..].Trim().Split(' ')[0];
            sum += double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        return sum;
    }

    private async Task<StorageVerification> VerifyGroupApiAsync(LoadResult result, GroupEvents events, string tenant, long? acceptedBefore, CancellationToken cancellationToken)
    {
        var db = _settings.Database;
        var ofRun = $"tenant = {Literal(tenant)} AND substring(message_id, 1, {result.Settings.RunId.Length + 1}) = {Literal(result.Settings.RunId + "-")}";
        var stored = await ScalarAsync($"SELECT uniqExact(event_id) FROM {db}.events WHERE {ofRun}", cancellationToken);
        var raw = await ScalarAsync($"SELECT count() FROM {_settings.RawEventsTable ?? db + ".events"} WHERE {ofRun}", cancellationToken);
        var traitRows = await ScalarAsync(
            $"SELECT uniqExact(event_id, trait_key) FROM {db}.group_traits WHERE tenant = {Literal(tenant)} AND event_id IN (SELECT event_id FROM {db}.events WHERE {ofRun})",
            cancellationToken);
        var expectedTraitRows = result.AckedEvents.Sum(n => (long)events.TraitCount(n));

        var checks = new List<VerificationCheck>
        {
            new("stored events = distinct events acked", result.DistinctEventsAcked, stored),
            new("raw event rows = stored events (none stored twice)", stored, raw,
                _settings.RawEventsTable is null ? "raw count read from the events table: a merge may have collapsed a duplicate already" : null),
            new("stored trait rows = trait rows of the acked events", expectedTraitRows, traitRows),
            new("accepted answered = distinct events acked", result.DistinctEventsAcked, result.AcceptedReported),
            new("accepted + duplicates answered = events acked", result.EventsAcked, result.AcceptedReported + result.DuplicatesReported),
        };
        if (acceptedBefore is { } before && await ReadAcceptedCounterAsync(cancellationToken) is { } after)
        {
            checks.Add(new VerificationCheck($"ingest's {AcceptedCounter} moved by accepted answered", result.AcceptedReported, after - before));
        }

        return new StorageVerification(checks);
    }

    private async Task<StorageVerification> VerifyBaselineAsync(LoadResult result, string tenant, CancellationToken cancellationToken)
    {
        var table = result.Settings.ClickHouseTable;
        var ofRun = $"tenant = {Literal(tenant)} AND substring(event_id, 1, {result.Settings.RunId.Length}) = {Literal(result.Settings.RunId)}";
        var rows = await ScalarAsync($"SELECT count() FROM {table} WHERE {ofRun}", cancellationToken);
        var distinct = await ScalarAsync($"SELECT uniqExact(event_id, trait_key) FROM {table} WHERE {ofRun}", cancellationToken);
        return new StorageVerification(
        [
            new("stored rows = rows acked", result.RowsAcked, rows),
            new("distinct (event, trait) rows = rows acked", result.RowsAcked, distinct),
        ]);
    }

    private async Task<long> ScalarAsync(string sql, CancellationToken cancellationToken)
    {
        using var content = new StringContent(sql + " FORMAT TabSeparated", Encoding.UTF8);
        using var response = await _http.PostAsync(_settings.ClickHouse, content, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"ClickHouse answered {(int)response.StatusCode} to a verification query: {body.Trim()}");
        }

        return long.Parse(body.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture);
    }

    /// <summary>A ClickHouse string literal: backslash and quote escaped (18.16 has no query parameters).</summary>
    private static string Literal(string value) =>
        "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
}
