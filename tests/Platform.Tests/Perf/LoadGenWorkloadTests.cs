using System.Buffers;
using System.Text;
using System.Text.Json;
using Platform.Perf.LoadGen.Bodies;
using Platform.Perf.LoadGen.Verification;
using Platform.Tests.GroupApi;

namespace Platform.Tests.Perf;

/// <summary>
/// The load generator's benchmark workloads without servers: the ClickHouse baseline sends exactly the trait rows ingest
/// derives from the same events, and the reads only name groups the seed stored.
/// </summary>
public sealed class LoadGenWorkloadTests
{
    private static readonly long[] Events = [.. Enumerable.Range(0, 60).Select(i => (long)i)];

    [Fact]
    public void The_baseline_rows_are_the_trait_rows_ingest_parses_from_the_same_events()
    {
        var events = new GroupEvents("abcd1234");
        var body = new ArrayBufferWriter<byte>();
        events.WriteBody(body, Events);
        var parsed = ParserFixture.Parse(Encoding.UTF8.GetString(body.WrittenSpan), tenant: "t1");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.Select(e => e.Message)));
        var expected = parsed.Events
            .SelectMany(e => e.Traits.Select(t => $"{e.GroupId}|{e.TimestampMicros}|{t.Key}|{t.Json}"))
            .Order(StringComparer.Ordinal)
            .ToList();

        var rows = new ArrayBufferWriter<byte>();
        var count = events.WriteTraitRows(rows, Events, "t1");
        var actual = Encoding.UTF8.GetString(rows.WrittenSpan).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Select(row =>
            {
                Assert.Equal("t1", row.GetProperty("tenant").GetString());
                Assert.Equal(0, row.GetProperty("cleared").GetInt32());
                return $"{row.GetProperty("group_id").GetString()}|{row.GetProperty("event_us").GetInt64()}|{row.GetProperty("trait_key").GetString()}|{row.GetProperty("value_json").GetString()}";
            })
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Equal(expected.Count, count);
        Assert.Equal(expected, actual);
        Assert.Equal(count, Events.Sum(n => events.TraitCount(n)));
    }

    [Fact]
    public void A_flood_of_1000_event_requests_over_100_groups_is_a_valid_group_api_batch()
    {
        var events = new GroupEvents("abcd1234", groups: 100);
        var body = new ArrayBufferWriter<byte>();
        events.WriteBody(body, [.. Enumerable.Range(5_000, 1_000).Select(i => (long)i)]);

        var parsed = ParserFixture.Parse(Encoding.UTF8.GetString(body.WrittenSpan), tenant: "t1");

        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.Select(e => e.Message)));
        Assert.Equal(1_000, parsed.EventCount);
    }

    [Fact]
    public void Baseline_event_ids_have_ingests_shape_start_with_the_run_id_and_differ()
    {
        var events = new GroupEvents("abcd1234");

        var ids = Enumerable.Range(0, 10_000).Select(n => events.EventId(n)).ToList();

        Assert.All(ids, id => Assert.Matches("^abcd1234[0-9a-f]{24}$", id));
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Reads_name_only_groups_of_the_seeded_events_and_cover_every_endpoint()
    {
        var events = new GroupEvents("abcd1234");
        var seeded = Enumerable.Range(0, 50).Select(n => events.GroupId(n)).ToHashSet(StringComparer.Ordinal);
        var reads = new QueryReads(events, seededEvents: 50);

        var sample = Enumerable.Range(0, 2_000).Select(_ => reads.Next()).ToList();

        Assert.Equal(QueryReads.Endpoints.Order(StringComparer.Ordinal), sample.Select(r => r.Endpoint).Distinct().Order(StringComparer.Ordinal));
        foreach (var read in sample.Where(r => r.PathAndQuery.StartsWith("/api/groups/", StringComparison.Ordinal)))
        {
            var group = Uri.UnescapeDataString(read.PathAndQuery["/api/groups/".Length..].Split('/', '?')[0]);
            Assert.Contains(group, seeded);
        }
    }

    [Fact]
    public void The_accepted_counter_is_summed_over_its_series_and_nothing_else()
    {
        const string Exposition = """
            # TYPE platform_ingest_events_accepted_total counter
            platform_ingest_events_accepted_total{otel_scope_name="Platform.Ingest",tenant="a"} 1200 1732632000000
            platform_ingest_events_accepted_total{otel_scope_name="Platform.Ingest",tenant="b"} 34
            platform_ingest_events_accepted_total_created 1732632000
            platform_ingest_events_accepted 99
            """;

        Assert.Equal(1234, StorageVerifier.SumCounter(Exposition, "platform_ingest_events_accepted_total"));
    }
}
