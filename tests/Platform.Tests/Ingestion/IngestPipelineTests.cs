using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Platform.Ingest.GroupApi;
using Platform.Ingest.Ingestion;
using Platform.Tests.Integration;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Ingestion;

/// <summary>
/// The ingest pipeline without HTTP: the real service's pipeline (parser, in-memory dedup, group-commit writer, DuckDB in
/// a temporary directory) called directly, its result checked against what storage holds.
/// </summary>
public sealed class IngestPipelineTests
{
    private static Task<IngestResult> IngestAsync(IngestHost host, string json, string tenant = "acme") =>
        host.Services.GetRequiredService<IngestPipeline>()
            .IngestAsync(PooledBody.FromArray(Encoding.UTF8.GetBytes(json)), tenant, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000, ack: null, default);

    [Fact]
    public async Task New_events_are_stored_and_counted_and_repeats_inside_the_request_count_as_duplicates()
    {
        using var host = new IngestHost();

        var result = await IngestAsync(host, Batch(3, i => Event(userId: i == 2 ? "u0" : $"u{i}")));

        Assert.Equal(new IngestResult.Stored(Accepted: 2, Duplicates: 1), result);
        Assert.Equal(2, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task A_retried_request_is_answered_stored_with_every_event_a_duplicate()
    {
        using var host = new IngestHost();
        var body = Batch(4);

        await IngestAsync(host, body);
        var retry = await IngestAsync(host, body);

        Assert.Equal(new IngestResult.Stored(Accepted: 0, Duplicates: 4), retry);
        Assert.Equal(4, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task An_invalid_request_lists_its_problems_and_stores_nothing()
    {
        using var host = new IngestHost();

        var result = await IngestAsync(host, Batch(2, i => i == 0 ? Event() : Event(groupId: null)));

        var invalid = Assert.IsType<IngestResult.Invalid>(result);
        Assert.Contains(invalid.Errors, e => e.Index == 1 && e.Field == "group_id");
        Assert.Equal(0, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task A_failed_write_is_unavailable_for_storage_and_releases_its_reservations_so_the_retry_is_stored()
    {
        using var host = new IngestHost();
        host.Store.FailNextInserts(1);
        var body = Batch(2);

        var failed = await IngestAsync(host, body);
        var retry = await IngestAsync(host, body);

        Assert.Equal(UnavailableReason.StorageUnavailable, Assert.IsType<IngestResult.Unavailable>(failed).Reason);
        Assert.Equal(new IngestResult.Stored(Accepted: 2, Duplicates: 0), retry);
        Assert.Equal(2, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task An_event_still_being_stored_by_another_request_is_unavailable_for_that_reason_not_for_the_dedup_store()
    {
        using var host = new IngestHost(new Dictionary<string, string?> { ["Dedup:InFlightWait"] = "00:00:00.200" });
        host.Store.HoldInserts();
        var body = Batch(1);
        var first = IngestAsync(host, body);
        await host.WaitForQueuedEventsAsync(1);

        var second = await IngestAsync(host, body);
        host.Store.ReleaseInserts();

        Assert.Equal(UnavailableReason.EventInFlight, Assert.IsType<IngestResult.Unavailable>(second).Reason);
        Assert.Equal(new IngestResult.Stored(Accepted: 1, Duplicates: 0), await first);
    }

    [Fact]
    public async Task Accepted_counts_what_storage_added_when_the_dedup_store_has_forgotten_the_events()
    {
        // Two processes on one data directory, one after the other: the second starts with an empty in-memory dedup
        // store, as after a restart or a Redis that lost its keys, so only storage knows the first two events.
        var data = Directory.CreateTempSubdirectory("platform-pipeline-").FullName;
        try
        {
            var settings = new Dictionary<string, string?> { ["Storage:DuckDb:DataDirectory"] = data };
            using (var before = new IngestHost(settings))
            {
                using var first = await before.PostAsync(Batch(2));
                Assert.Equal(2, (await ContractBody.ReadAsync(first)).Accepted);
            }

            using var after = new IngestHost(settings);
            using var response = await after.PostAsync(Batch(3));

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await ContractBody.ReadAsync(response);
            Assert.Equal(1, body.Accepted);
            Assert.Equal(2, body.Duplicates);
            Assert.Equal(3, (await after.Store.CountAsync("acme", default)).Events);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
