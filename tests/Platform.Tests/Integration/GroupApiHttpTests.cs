using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Platform.ServiceDefaults.Auth;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.Integration;

/// <summary>POST /api/group over real HTTP against the real service and a real DuckDB file.</summary>
public sealed class GroupApiHttpTests
{
    private static string Reference(string userId = "1820abb7-e6d4-45ec-8bc5-9a5c13ba06ca") => $$"""
        [
          {
            "user_id": "{{userId}}",
            "traits": { "group_type": "Team", "industry": "Telecommunications", "name": "Acme", "domain": "acme.com", "planName": "Basic" },
            "context": { "group_id": "7cc972d3-685d-4106-a862-4fc37da0eca4" },
            "timestamp": "2023-12-14T16:07:33.571125Z"
          }
        ]
        """;

    [Fact]
    public async Task A_valid_batch_is_answered_200_with_the_contract_body_and_stored()
    {
        using var host = new IngestHost();

        using var response = await host.PostAsync(Batch(3));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await ContractBody.ReadAsync(response);
        Assert.True(body.Success);
        Assert.True(Guid.TryParse(body.ResponseId, out _));
        Assert.Equal("Group(s) updated successfully", body.Message);
        Assert.Equal(3, body.Accepted);
        Assert.Equal(0, body.Duplicates);
        Assert.Equal(body.ResponseId, response.Headers.GetValues("X-Response-Id").Single());
        Assert.Equal(3, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task The_reference_example_stores_its_group_from_context_group_id()
    {
        using var host = new IngestHost();

        using var response = await host.PostAsync(Reference());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var traits = await host.Store.GetCurrentTraitsAsync("acme", "7cc972d3-685d-4106-a862-4fc37da0eca4", default);
        Assert.Equal("\"Acme\"", traits["name"]);
        Assert.Equal("\"Telecommunications\"", traits["industry"]);
    }

    [Fact]
    public async Task An_invalid_batch_is_answered_400_with_every_problem_and_stores_nothing()
    {
        using var host = new IngestHost();
        var json = $"[{Event(userId: "ok-1")},{Event(userId: "", traits: "{\"name\":\"x\"}")},{Event(userId: "ok-2")}]";

        using var response = await host.PostAsync(json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await ContractBody.ReadAsync(response);
        Assert.False(body.Success);
        Assert.Equal([(1, "traits.group_type"), (1, "user_id")], body.Errors!.Select(e => (e.Index ?? -1, e.Field)).Order());
        Assert.Equal(0, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task A_request_without_a_token_is_answered_401_in_the_contract_shape()
    {
        using var host = new IngestHost();

        using var response = await host.SendAsync(Batch(1), token: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = await ContractBody.ReadAsync(response);
        Assert.False(body.Success);
        Assert.False(string.IsNullOrEmpty(body.ResponseId));
        Assert.Equal(0, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task A_token_signed_by_another_key_is_answered_401()
    {
        using var host = new IngestHost();
        var stranger = Directory.CreateTempSubdirectory("stranger-key-").FullName;
        DevelopmentKeys.EnsureKeyPair(stranger);
        var forged = DevelopmentKeys.MintToken(stranger, IngestHost.Issuer, IngestHost.Audience, "acme", [PlatformScopes.GroupApi], TimeSpan.FromMinutes(5));

        using var response = await host.SendAsync(Batch(1), forged);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Directory.Delete(stranger, recursive: true);
    }

    [Fact]
    public async Task A_token_without_an_ingest_scope_is_answered_403_in_the_contract_shape()
    {
        using var host = new IngestHost();

        using var response = await host.SendAsync(Batch(1), host.Token("acme", PlatformScopes.AnalyticsRead));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False((await ContractBody.ReadAsync(response)).Success);
        Assert.Equal(0, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Theory]
    [InlineData(PlatformScopes.GroupApi)]
    [InlineData(PlatformScopes.TelemetryApis)]
    public async Task Either_ingest_scope_is_enough(string scope)
    {
        using var host = new IngestHost();

        using var response = await host.SendAsync(Batch(1), host.Token("acme", scope));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task The_same_batch_sent_twice_is_stored_once()
    {
        using var host = new IngestHost();
        var json = Batch(5);

        using var first = await host.PostAsync(json);
        using var second = await host.PostAsync(json);

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var body = await ContractBody.ReadAsync(second);
        Assert.Equal(0, body.Accepted);
        Assert.Equal(5, body.Duplicates);
        var counts = await host.Store.CountAsync("acme", default);
        Assert.Equal(5, counts.Events);
        Assert.Equal(10, counts.TraitRows);
    }

    [Fact]
    public async Task Many_concurrent_copies_of_a_batch_store_each_event_once()
    {
        using var host = new IngestHost();
        var json = Batch(20, i => Event(groupId: $"g{i % 4}", userId: $"u{i}", extra: i % 2 == 0 ? $"\"message_id\":\"m-{i}\"" : null));

        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => host.PostAsync(json)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var bodies = await Task.WhenAll(responses.Select(ContractBody.ReadAsync));
        Assert.Equal(20, bodies.Sum(b => b.Accepted));
        Assert.Equal(20, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task Duplicates_within_one_request_are_stored_once()
    {
        using var host = new IngestHost();

        using var response = await host.PostAsync($"[{Event()},{Event()}]");

        var body = await ContractBody.ReadAsync(response);
        Assert.Equal(1, body.Accepted);
        Assert.Equal(1, body.Duplicates);
        Assert.Equal(1, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task The_same_event_from_two_tenants_is_stored_for_each()
    {
        using var host = new IngestHost();

        using var acme = await host.PostAsync(Batch(2), "acme");
        using var globex = await host.PostAsync(Batch(2), "globex");

        Assert.Equal(2, (await ContractBody.ReadAsync(globex)).Accepted);
        Assert.Equal(2, (await host.Store.CountAsync("acme", default)).Events);
        Assert.Equal(2, (await host.Store.CountAsync("globex", default)).Events);
    }

    [Fact]
    public async Task A_gzip_body_is_accepted()
    {
        using var host = new IngestHost();
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(Batch(4)));
        }

        using var response = await host.SendAsync("", host.Token(), request =>
        {
            request.Content = new ByteArrayContent(compressed.ToArray());
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Content.Headers.ContentEncoding.Add("gzip");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(4, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task A_body_over_the_cap_is_answered_400_not_413()
    {
        using var host = new IngestHost();
        var oversized = $"[{Event(traits: $$"""{"group_type":"Team","pad":"{{new string('x', 2 * 1024 * 1024)}}"}""")}]";

        using var response = await host.PostAsync(oversized);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("body", Assert.Single((await ContractBody.ReadAsync(response)).Errors!).Field);
    }

    [Fact]
    public async Task Every_200_comes_after_its_rows_are_readable_from_storage()
    {
        using var host = new IngestHost();

        // Each request is its own tenant, so each can check exactly its own rows the moment it is answered.
        var checks = Enumerable.Range(0, 24).Select(async i =>
        {
            var tenant = $"tenant-{i}";
            using var response = await host.PostAsync(Batch(10 + i), tenant);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (Expected: 10 + i, Stored: (await host.Store.CountAsync(tenant, default)).Events);
        });

        var results = await Task.WhenAll(checks);

        Assert.All(results, r => Assert.Equal(r.Expected, r.Stored));
    }

    [Fact]
    public async Task Concurrent_requests_are_stored_in_shared_inserts()
    {
        using var host = new IngestHost();
        host.Store.HoldInserts();

        var requests = Enumerable.Range(0, 8).Select(i => host.PostAsync(Batch(10, j => Event(userId: $"u{i}-{j}")))).ToList();
        await host.WaitForQueuedEventsAsync(80);
        host.Store.ReleaseInserts();
        var responses = await Task.WhenAll(requests);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        // The first insert was held; whatever queued meanwhile went into a single insert after it.
        Assert.InRange(host.Store.InsertedBatchSizes.Count, 1, 2);
        Assert.Equal(80, host.Store.InsertedBatchSizes.Sum());
        Assert.Equal(80, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task A_storage_failure_is_answered_503_with_Retry_After_and_the_retry_succeeds()
    {
        using var host = new IngestHost();
        var json = Batch(3);
        host.Store.FailNextInserts(1);

        using var failed = await host.PostAsync(json);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.NotNull(failed.Headers.RetryAfter?.Delta);
        Assert.False((await ContractBody.ReadAsync(failed)).Success);
        Assert.Equal(0, (await host.Store.CountAsync("acme", default)).Events);

        using var retried = await host.PostAsync(json);

        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal(3, (await ContractBody.ReadAsync(retried)).Accepted);
        Assert.Equal(3, (await host.Store.CountAsync("acme", default)).Events);
    }

    [Fact]
    public async Task A_full_write_queue_is_answered_503_and_stores_nothing_of_that_request()
    {
        using var host = new IngestHost(new Dictionary<string, string?> { ["Writer:MaxQueuedEvents"] = "1000" });
        host.Store.HoldInserts();
        var first = host.PostAsync(Batch(1000, i => Event(groupId: $"g{i % 50}", userId: $"a{i}")), "acme");
        await host.WaitForQueuedEventsAsync(1000);

        using var refused = await host.PostAsync(Batch(1), "globex");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        host.Store.ReleaseInserts();
        using var accepted = await first;
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(0, (await host.Store.CountAsync("globex", default)).Events);
        using var retried = await host.PostAsync(Batch(1), "globex");
        Assert.Equal(1, (await ContractBody.ReadAsync(retried)).Accepted);
    }

    [Fact]
    public async Task Health_endpoints_answer()
    {
        using var host = new IngestHost();

        using var live = await host.Client.GetAsync("/healthz/live");
        using var ready = await host.Client.GetAsync("/healthz/ready");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("storage", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_fails_while_storage_is_down_and_liveness_does_not()
    {
        using var host = new IngestHost();
        host.Store.ReportUnhealthy = true;

        using var live = await host.Client.GetAsync("/healthz/live");
        using var ready = await host.Client.GetAsync("/healthz/ready");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
    }
}
