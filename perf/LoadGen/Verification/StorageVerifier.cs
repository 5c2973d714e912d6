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

    /// <summary>
    /// Ingest is killed and started again during the run (the fault suite): its counters start again from zero, so they are
    /// not compared, and a block the dead process had inserted but not yet marked shipped is shipped again by the new one
    /// and collapsed by the engine, so raw repeats are reported but not a failure.
    /// </summary>
    public bool IngestRestarts { get; init; }

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

/// <summary>
/// One comparison of what the run was told against what storage or the service's metrics hold: <see cref="Actual"/> must
/// equal <see cref="Expected"/>, or with <see cref="ExpectedMax"/> lie between the two (when requests failed, their events
/// may or may not have been stored, so only bounds are known).
/// </summary>
internal sealed record VerificationCheck(string Name, long Expected, long Actual, string? Note = null, long? ExpectedMax = null)
{
    public bool Passed => Actual >= Expected && Actual <= (ExpectedMax ?? Expected);

    public string ExpectedText => ExpectedMax is { } max && max != Expected ? $"{Expected} to {max}" : $"{Expected}";
}

/// <summary>Ingest's own figures over the run, from its /metrics: accepted events, and inserts with the events they carried.</summary>
internal readonly record struct IngestCounters(long Accepted, long Inserts, long InsertedEvents, long FailedInserts = 0)
{
    public static IngestCounters operator -(IngestCounters after, IngestCounters before) =>
        new(after.Accepted - before.Accepted, after.Inserts - before.Inserts, after.InsertedEvents - before.InsertedEvents, after.FailedInserts - before.FailedInserts);
}

/// <summary>Every check of one run (it passes when each does), and ingest's counters over the run when they were read.</summary>
internal sealed record StorageVerification(IReadOnlyList<VerificationCheck> Checks, IngestCounters? Ingest = null)
{
    public bool Passed => Checks.All(c => c.Passed);

    /// <summary>Group API: acked events not found in storage.</summary>
    public long? Lost { get; init; }

    /// <summary>Group API: raw event rows beyond one per stored event (a block re-inserted after a failed insert included).</summary>
    public long? RawRepeats { get; init; }
}

/// <summary>
/// Checks a finished run against storage: every event acked is stored (the acked message ids are sent along as ClickHouse
/// external data and looked up), nothing beyond them unless a request failed, none twice, each with all its trait rows, and
/// the service's answers and its own counter agree. Counts only the run's own rows (its message ids, or for the ClickHouse
/// baseline its event ids, start with the run id), so runs can share a tenant.
/// </summary>
internal sealed class StorageVerifier : IDisposable
{
    private const string AcceptedCounter = "platform_ingest_events_accepted_total";
    private const string InsertCount = "platform_ingest_insert_events_count";
    private const string InsertSum = "platform_ingest_insert_events_sum";
    private const string FailedInsertCounter = "platform_ingest_storage_errors_total";

    private readonly VerifySettings _settings;
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(60) };

    public StorageVerifier(VerifySettings settings)
    {
        settings.Validate();
        _settings = settings;
    }

    /// <summary>Ingest's metrics now, or null without a metrics address.</summary>
    public async Task<IngestMetrics?> ScrapeAsync(CancellationToken cancellationToken = default) =>
        _settings.IngestMetrics is { } metrics ? IngestMetrics.Parse(await _http.GetStringAsync(metrics, cancellationToken)) : null;

    /// <summary>Ingest's counters now (every series summed), or null without a metrics address.</summary>
    public async Task<IngestCounters?> ReadIngestCountersAsync(CancellationToken cancellationToken = default)
    {
        if (_settings.IngestMetrics is not { } metrics)
        {
            return null;
        }

        var text = await _http.GetStringAsync(metrics, cancellationToken);
        return new IngestCounters((long)SumCounter(text, AcceptedCounter), (long)SumCounter(text, InsertCount), (long)SumCounter(text, InsertSum),
            (long)SumCounter(text, FailedInsertCounter));
    }

    public async Task<StorageVerification> VerifyAsync(LoadResult result, GroupEvents events, IngestCounters? before, CancellationToken cancellationToken = default)
    {
        var settings = result.Settings;
        var tenant = settings.Tenant ?? throw new ArgumentException("verification needs the run's tenant");
        return settings.Workload switch
        {
            Workload.GroupApi => await VerifyGroupApiAsync(result, events, tenant, before, cancellationToken),
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

    private async Task<StorageVerification> VerifyGroupApiAsync(LoadResult result, GroupEvents events, string tenant, IngestCounters? before, CancellationToken cancellationToken)
    {
        var db = _settings.Database;
        var ofRun = $"tenant = {Literal(tenant)} AND substring(message_id, 1, {result.Settings.RunId.Length + 1}) = {Literal(result.Settings.RunId + "-")}";
        var acked = new StringBuilder();
        foreach (var n in result.AckedEvents)
        {
            acked.Append(events.MessageId(n)).Append('\n');
        }

        var ackedIds = acked.ToString();
        var missing = await ScalarAsync($"SELECT count() FROM acked WHERE message_id NOT IN (SELECT assumeNotNull(message_id) FROM {db}.events WHERE {ofRun})", ackedIds, cancellationToken);
        var stored = await ScalarAsync($"SELECT uniqExact(event_id) FROM {db}.events WHERE {ofRun}", null, cancellationToken);
        var raw = await ScalarAsync($"SELECT count() FROM {_settings.RawEventsTable ?? db + ".events"} WHERE {ofRun}", null, cancellationToken);
        var traitRows = await ScalarAsync(
            $"SELECT uniqExact(event_id, trait_key) FROM {db}.group_traits WHERE tenant = {Literal(tenant)} AND event_id IN (SELECT event_id FROM {db}.events WHERE {ofRun} AND assumeNotNull(message_id) IN acked)",
            ackedIds, cancellationToken);
        var expectedTraitRows = result.AckedEvents.Sum(n => (long)events.TraitCount(n));

        // A request that got no 200 (an error, a timeout) may still have been stored; its events are bounds, not counts.
        var failed = result.Errors;
        var sentNotAcked = result.EventsSent - result.DistinctEventsAcked;
        var inFailed = failed * result.Settings.EventsPerRequest;
        var failedNote = failed == 0 ? null : $"{failed} requests failed; their events may or may not be stored";
        IngestCounters? counters = null;
        if (before is { } start && await ReadIngestCountersAsync(cancellationToken) is { } end)
        {
            counters = end - start;
        }

        // A failed insert may have been written by ClickHouse before the connection dropped (a server killed mid-insert):
        // the shipper's retry writes the block again, the engine collapses the repeat, and no query counts it twice
        // (the distinct count above is what queries see). Raw duplicates are then expected, at most the retried blocks.
        var retried = counters?.FailedInserts ?? 0;
        var rawNote = retried > 0
            ? $"{retried} inserts failed and were retried: a block ClickHouse had already written is stored again and collapsed by the engine, never counted twice"
            : _settings.IngestRestarts ? "ingest was restarted: a block shipped but not yet marked shipped is shipped again and collapsed by the engine, never counted twice"
            : _settings.RawEventsTable is null ? "raw count read from the events table: a merge may have collapsed a duplicate already" : null;
        var checks = new List<VerificationCheck>
        {
            new("acked events missing from storage", 0, missing),
            failed == 0
                ? new("stored events = distinct events acked", result.DistinctEventsAcked, stored)
                : new("stored events never acked (sent in failed requests)", 0, stored - (result.DistinctEventsAcked - missing), failedNote, sentNotAcked),
            new("raw event rows = stored events (none stored twice)", stored, raw, rawNote, retried > 0 || _settings.IngestRestarts ? stored * 2 : null),
            new("stored trait rows of the acked events = their traits", expectedTraitRows, traitRows),
            new("accepted answered = distinct events acked", Math.Max(0, result.DistinctEventsAcked - inFailed - result.RetriedEventsAcked), result.AcceptedReported,
                result.RetriedEventsAcked > 0
                    ? $"{result.RetriedEventsAcked} events were acked on a retry: one stored by an unanswered attempt is answered as a duplicate"
                    : failedNote,
                result.DistinctEventsAcked),
            new("accepted + duplicates answered = events acked", result.EventsAcked, result.AcceptedReported + result.DuplicatesReported),
        };
        if (counters is { } moved)
        {
            checks.Add(new VerificationCheck($"ingest's {AcceptedCounter} moved by accepted answered", result.AcceptedReported, moved.Accepted, failedNote, result.AcceptedReported + inFailed));
        }

        return new StorageVerification(checks, counters) { Lost = missing, RawRepeats = raw - stored };
    }

    private async Task<StorageVerification> VerifyBaselineAsync(LoadResult result, string tenant, CancellationToken cancellationToken)
    {
        var table = result.Settings.ClickHouseTable;
        var ofRun = $"tenant = {Literal(tenant)} AND substring(event_id, 1, {result.Settings.RunId.Length}) = {Literal(result.Settings.RunId)}";
        var rows = await ScalarAsync($"SELECT count() FROM {table} WHERE {ofRun}", null, cancellationToken);
        var distinct = await ScalarAsync($"SELECT uniqExact(event_id, trait_key) FROM {table} WHERE {ofRun}", null, cancellationToken);
        var note = result.Errors == 0 ? null : $"{result.Errors} requests failed; their rows may or may not be stored";
        return new StorageVerification(
        [
            new("stored rows = rows acked", result.RowsAcked, rows, note, result.RowsSent),
            new("distinct (event, trait) rows = stored rows (none twice)", rows, distinct),
        ]);
    }

    /// <summary>Runs a query that answers one number; <paramref name="ackedIds"/>, when given, is the external table <c>acked(message_id)</c>.</summary>
    private async Task<long> ScalarAsync(string sql, string? ackedIds, CancellationToken cancellationToken)
    {
        var query = "?query=" + Uri.EscapeDataString(sql + " FORMAT TabSeparated");

        // Settings in --verify-clickhouse's own query string ride along (a cluster's reads need distributed_product_mode).
        if (_settings.ClickHouse.Query.Length > 1)
        {
            query += "&" + _settings.ClickHouse.Query[1..];
        }

        using var content = new MultipartFormDataContent();
        if (ackedIds is not null)
        {
            query += "&acked_structure=" + Uri.EscapeDataString("message_id String");
            var file = new StringContent(ackedIds, Encoding.UTF8);
            content.Add(file, "acked", "acked.tsv");
        }

        using var response = await _http.PostAsync(new Uri(_settings.ClickHouse, query), ackedIds is null ? null : content, cancellationToken);
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
