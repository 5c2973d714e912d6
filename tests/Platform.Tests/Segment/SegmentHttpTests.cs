using System.Net;
using System.Net.Http.Headers;
using Platform.ServiceDefaults.Auth;
using Platform.Tests.Auth;
using Platform.Tests.Gateway;
using static Platform.Tests.Segment.SegmentFixture;

namespace Platform.Tests.Segment;

/// <summary>
/// The Segment-compatible endpoints over real HTTP, each behaviour shown on ingest directly and through the real
/// gateway (both configured with the same write keys), with storage read back through the query API.
/// </summary>
public sealed class SegmentHttpTests(SegmentFixture fixture) : IClassFixture<SegmentFixture>
{
    private static string Group(string groupId, string userId = "u-1", string extra = "") =>
        $$"""{"type":"group","userId":"{{userId}}","groupId":"{{groupId}}","traits":{"name":"Acme","plan":"Pro"}{{extra}}}""";

    private static string Batch(params string[] calls) => $$"""{"batch":[{{string.Join(",", calls)}}]}""";

    /// <summary>A group id unique to one test run, so tests sharing the fixture never read each other's groups.</summary>
    private static string NewGroup(string name) => $"{name}-{Guid.NewGuid():N}";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_batch_with_a_write_key_stores_its_group_calls_readable_through_the_query_api(bool throughGateway)
    {
        var group = NewGroup("stored");

        using var response = await PostAsync(fixture.Client(throughGateway), "/v1/batch",
            Batch(Group(group, "u-1"), Group(group, "u-2", ""","timestamp":"2025-06-01T10:00:00Z" """)), KeyA);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await SegmentBody.ReadAsync(response);
        Assert.True(body.Success);
        Assert.Equal((2, 0, 0, 0), (body.Accepted, body.Duplicates, body.Skipped, body.Rejected));
        var profile = (await fixture.ProfileAsync(TenantA, group))!.Value;
        Assert.Equal("Account", profile.GetProperty("group_type").GetString());
        Assert.Equal("Pro", profile.GetProperty("traits").GetProperty("plan").GetString());
        Assert.Equal(2, profile.GetProperty("member_count").GetInt32());
        Assert.Equal("2025-06-01T10:00:00.000000Z", (await fixture.UsersAsync(TenantA, group))["u-2"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_mixed_batch_stores_the_group_calls_and_counts_the_others_as_skipped(bool throughGateway)
    {
        var group = NewGroup("mixed");

        using var response = await PostAsync(fixture.Client(throughGateway), "/v1/batch", Batch(
            """{"type":"identify","userId":"u-1","traits":{"email":"a@b.c"}}""",
            Group(group),
            """{"type":"track","userId":"u-1","event":"Signed Up"}""",
            """{"type":"page","anonymousId":"a-1","name":"Home"}"""), KeyA);

        var body = await SegmentBody.ReadAsync(response);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal((1, 3, 0), (body.Accepted, body.Skipped, body.Rejected));
        Assert.Equal(["u-1"], (await fixture.UsersAsync(TenantA, group)).Keys);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_resent_messageId_is_answered_as_a_duplicate_and_stored_once(bool throughGateway)
    {
        var group = NewGroup("resend");
        var messageId = Guid.NewGuid().ToString();
        var call = Group(group, extra: $$""","messageId":"{{messageId}}","timestamp":"2025-06-01T10:00:00Z" """);
        var client = fixture.Client(throughGateway);

        using var first = await PostAsync(client, "/v1/batch", $$"""{"batch":[{{call}}],"sentAt":"2025-06-01T10:00:01Z"}""", KeyA);
        using var resent = await PostAsync(client, "/v1/batch", $$"""{"batch":[{{call}}],"sentAt":"2025-06-01T10:05:00Z"}""", KeyA);

        var stored = await SegmentBody.ReadAsync(first);
        Assert.Equal((1, 0), (stored.Accepted, stored.Duplicates));
        var again = await SegmentBody.ReadAsync(resent);
        Assert.Equal(HttpStatusCode.OK, resent.StatusCode);
        Assert.Equal((0, 1), (again.Accepted, again.Duplicates));
        var profile = (await fixture.ProfileAsync(TenantA, group))!.Value;
        Assert.Equal(1, profile.GetProperty("member_count").GetInt32());
    }

    [Fact]
    public async Task SentAt_corrects_a_fast_sender_clock_before_the_event_is_stored()
    {
        var group = NewGroup("skew");
        var clientNow = DateTimeOffset.UtcNow.AddHours(3); // The sender's clock is 3 hours fast.
        var call = Group(group, extra: $$""","timestamp":"{{clientNow.AddMinutes(-1):O}}","sentAt":"{{clientNow:O}}" """);

        using var response = await PostAsync(fixture.Ingest.Client, "/v1/group", call, KeyA);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stored = DateTimeOffset.Parse((await fixture.UsersAsync(TenantA, group))["u-1"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(stored, DateTimeOffset.UtcNow.AddMinutes(-2), DateTimeOffset.UtcNow.AddMinutes(-1).AddSeconds(5));
    }

    [Fact]
    public async Task A_call_with_only_an_anonymousId_is_a_member_under_the_anonymous_prefix()
    {
        var group = NewGroup("anon");

        using var response = await PostAsync(fixture.Ingest.Client, "/v1/group",
            $$"""{"anonymousId":"device-9","groupId":"{{group}}","traits":{"name":"Acme"} }""", KeyA);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["anonymous:device-9"], (await fixture.UsersAsync(TenantA, group)).Keys);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_writeKey_in_the_body_is_accepted_without_an_Authorization_header(bool throughGateway)
    {
        var group = NewGroup("bodykey");

        using var response = await PostAsync(fixture.Client(throughGateway), "/v1/batch",
            $$"""{"batch":[{{Group(group)}}],"writeKey":"{{KeyA}}"}""", writeKey: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(await fixture.ProfileAsync(TenantA, group));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_gzip_batch_with_a_writeKey_in_the_body_is_accepted(bool throughGateway)
    {
        var group = NewGroup("gzip");

        using var response = await PostAsync(fixture.Client(throughGateway), "/v1/batch",
            $$"""{"writeKey":"{{KeyA}}","batch":[{{Group(group)}}]}""", writeKey: null, gzip: true);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(await fixture.ProfileAsync(TenantA, group));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Both_keys_of_a_tenant_work_during_a_rotation(bool throughGateway)
    {
        var group = NewGroup("rotation");

        using var old = await PostAsync(fixture.Client(throughGateway), "/v1/group", Group(group, "u-old"), KeyA);
        using var rotated = await PostAsync(fixture.Client(throughGateway), "/v1/group", Group(group, "u-new"), KeyARotated);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (old.StatusCode, rotated.StatusCode));
        Assert.Equal(["u-new", "u-old"], (await fixture.UsersAsync(TenantA, group)).Keys.Order());
    }

    [Theory]
    [InlineData(false, "wk_unknown", "write key unknown")]
    [InlineData(true, "wk_unknown", "write key unknown")]
    [InlineData(false, "REVOKED", "write key revoked")]
    [InlineData(true, "REVOKED", "write key revoked")]
    public async Task An_unknown_or_revoked_key_is_401_and_nothing_is_stored(bool throughGateway, string key, string expected)
    {
        var group = NewGroup("refused");

        using var response = await PostAsync(fixture.Client(throughGateway), "/v1/batch", Batch(Group(group)), key == "REVOKED" ? KeyRevoked : key);

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.StartsWith("Basic", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Null(await fixture.ProfileAsync(TenantA, group));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task No_credentials_at_all_is_401(bool throughGateway)
    {
        using var response = await PostAsync(fixture.Client(throughGateway), "/v1/batch", Batch(Group("g")), writeKey: null);

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("credentials missing", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_key_without_an_ingest_scope_is_403(bool throughGateway)
    {
        using var response = await PostAsync(fixture.Client(throughGateway), "/v1/batch", Batch(Group("g")), KeyReadOnly);

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains("write key lacks the group_api or telemetry_apis scope", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_write_key_never_reads_the_query_api_even_with_a_read_scope(bool throughGateway)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/groups");
        request.Headers.Authorization = Basic(KeyReadOnly);

        using var response = await fixture.Client(throughGateway).SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_key_of_one_tenant_writes_only_into_its_own_tenant(bool throughGateway)
    {
        var group = NewGroup("isolation");

        // Tenant B's key in the body is ignored when a Basic credential is present: the header's key decides.
        using var response = await PostAsync(fixture.Client(throughGateway), "/v1/batch",
            $$"""{"batch":[{{Group(group)}}],"writeKey":"{{KeyB}}","context":{"tenant_id":"{{TenantB}}"} }""", KeyA,
            request => request.Headers.Add("X-Tenant-Id", TenantB));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(await fixture.ProfileAsync(TenantA, group));
        Assert.Null(await fixture.ProfileAsync(TenantB, group));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_bearer_token_works_on_the_segment_endpoints_too(bool throughGateway)
    {
        var group = NewGroup("bearer");

        using var response = await PostAsync(fixture.Client(throughGateway), "/v1/group", Group(group), writeKey: null,
            request => request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Tokens.Valid(TenantB, PlatformScopes.GroupApi)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(await fixture.ProfileAsync(TenantB, group));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_invalid_call_is_listed_in_a_200_and_the_valid_calls_are_stored(bool throughGateway)
    {
        var group = NewGroup("partial");

        using var response = await PostAsync(fixture.Client(throughGateway), "/v1/batch", Batch(
            Group(group, "u-1"), """{"type":"group","userId":"u-2"}""", Group(group, "u-3")), KeyA);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await SegmentBody.ReadAsync(response);
        Assert.Equal((2, 1), (body.Accepted, body.Rejected));
        Assert.Equal((1, "groupId"), (Assert.Single(body.Errors!).Index, body.Errors![0].Field));
        Assert.Equal(["u-1", "u-3"], (await fixture.UsersAsync(TenantA, group)).Keys.Order());
    }

    [Theory]
    [InlineData("""{"batch":"nope"}""")]
    [InlineData("""{"batch":[""")]
    [InlineData("""{"batch":[{"type":"group","userId":"u"}]}""")]
    public async Task A_batch_that_can_never_succeed_is_400(string json)
    {
        using var response = await PostAsync(fixture.Ingest.Client, "/v1/batch", json, KeyA);

        await ContractAssert.ErrorAsync(response, HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_single_call_of_another_type_is_acknowledged_and_skipped(bool throughGateway)
    {
        using var response = await PostAsync(fixture.Client(throughGateway), "/v1/identify", """{"userId":"u","traits":{}}""", KeyA);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await SegmentBody.ReadAsync(response);
        Assert.Equal((0, 1), (body.Accepted, body.Skipped));
    }

    [Fact]
    public async Task The_gateway_holds_segment_bodies_to_the_same_cap_as_the_group_api()
    {
        var huge = $$"""{"batch":[],"padding":"{{new string('x', 2 * 1024 * 1024)}}"}""";

        using var response = await PostAsync(fixture.Gateway.Client, "/v1/batch", huge, KeyA);

        var message = await ContractAssert.ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("exceeds the limit", message, StringComparison.Ordinal);
    }
}
