using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Platform.ServiceDefaults.Auth;
using Platform.Tests.Integration;

namespace Platform.Tests.Query;

/// <summary>
/// The query API's contract, over real HTTP against the real service, independent of the storage backend.
/// Each backend runs it by deriving a class that says how to host the service on that backend.
/// </summary>
public abstract class QueryApiContract : IDisposable
{
    private readonly IngestHost _host;

    protected QueryApiContract()
    {
        _host = CreateHost();
    }

    internal abstract IngestHost CreateHost();

    public void Dispose()
    {
        _host.Dispose();
        GC.SuppressFinalize(this);
    }

    internal static string Event(string groupId, string userId, string timestamp, string traits, string? messageId = null) =>
        $$"""{"group_id":"{{groupId}}","user_id":"{{userId}}","timestamp":"{{timestamp}}","traits":{{traits}}{{(messageId is null ? "" : $",\"message_id\":\"{messageId}\"")}}}""";

    private async Task IngestAsync(string tenant, params string[] events)
    {
        using var response = await _host.PostAsync("[" + string.Join(",", events) + "]", tenant);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<(HttpStatusCode Status, JsonNode Body)> GetAsync(string path, string tenant = "acme", string scope = PlatformScopes.AnalyticsRead)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _host.Token(tenant, scope));
        using var response = await _host.Client.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private async Task<JsonNode> OkAsync(string path, string tenant = "acme")
    {
        var (status, body) = await GetAsync(path, tenant);
        Assert.True(status == HttpStatusCode.OK, $"{path}: {(int)status} {body.ToJsonString()}");
        return body;
    }

    private static string[] Strings(JsonNode? array, string field) =>
        array!.AsArray().Select(item => item![field]!.GetValue<string>()).ToArray();

    [Fact]
    public async Task The_profile_merges_traits_by_latest_timestamp_whatever_the_arrival_order()
    {
        await IngestAsync("acme",
            Event("g1", "u1", "2024-01-01T10:00:00Z", """{"group_type":"Account","planName":"Basic","name":"Acme"}"""),
            Event("g1", "u2", "2024-01-01T12:00:00Z", """{"group_type":"Account","planName":"Pro"}"""));
        // Late: older than the Pro update, so its plan loses; its domain is new, so it stands.
        await IngestAsync("acme", Event("g1", "u3", "2024-01-01T11:00:00Z", """{"group_type":"Account","planName":"Free","domain":"acme.com"}"""));
        await IngestAsync("acme", Event("g1", "u1", "2024-01-01T13:00:00Z", """{"group_type":"Account","name":null}"""));

        var profile = await OkAsync("/api/groups/g1");

        Assert.Equal("g1", profile["group_id"]!.GetValue<string>());
        Assert.Equal("Account", profile["group_type"]!.GetValue<string>());
        Assert.Equal("""{"domain":"acme.com","group_type":"Account","planName":"Pro"}""", profile["traits"]!.ToJsonString());
        Assert.Equal(3, profile["member_count"]!.GetValue<long>());
        Assert.Equal("2024-01-01T10:00:00.000000Z", profile["first_seen"]!.GetValue<string>());
        Assert.Equal("2024-01-01T13:00:00.000000Z", profile["last_seen"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_reference_example_reads_back_as_profile_memberships_and_counts()
    {
        // The API reference's own example: group_id inside context, an unknown trait (industry) beside known ones.
        using (var response = await _host.PostAsync("""
            [
              {
                "user_id": "1820abb7-e6d4-45ec-8bc5-9a5c13ba06ca",
                "traits": { "group_type": "Team", "industry": "Telecommunications", "name": "Acme", "domain": "acme.com", "planName": "Basic" },
                "context": { "group_id": "7cc972d3-685d-4106-a862-4fc37da0eca4" },
                "timestamp": "2023-12-14T16:07:33.571125Z"
              }
            ]
            """, "acme"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var profile = await OkAsync("/api/groups/7cc972d3-685d-4106-a862-4fc37da0eca4");
        var users = await OkAsync("/api/groups/7cc972d3-685d-4106-a862-4fc37da0eca4/users");
        var groups = await OkAsync("/api/users/1820abb7-e6d4-45ec-8bc5-9a5c13ba06ca/groups");
        var counts = await OkAsync("/api/traits/industry/counts");

        Assert.Equal("""{"domain":"acme.com","group_type":"Team","industry":"Telecommunications","name":"Acme","planName":"Basic"}""", profile["traits"]!.ToJsonString());
        Assert.Equal("2023-12-14T16:07:33.571125Z", profile["first_seen"]!.GetValue<string>());
        Assert.Equal(["1820abb7-e6d4-45ec-8bc5-9a5c13ba06ca"], Strings(users["items"], "user_id"));
        Assert.Equal(["7cc972d3-685d-4106-a862-4fc37da0eca4"], Strings(groups["items"], "group_id"));
        Assert.Equal("Telecommunications", Assert.Single(counts["buckets"]!.AsArray())!["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_tie_on_timestamp_goes_to_the_greater_event_id()
    {
        await IngestAsync("acme",
            Event("g1", "u1", "2024-01-01T10:00:00Z", """{"group_type":"Account","planName":"A"}""", "m-a"),
            Event("g1", "u1", "2024-01-01T10:00:00Z", """{"group_type":"Account","planName":"B"}""", "m-b"));

        var history = await OkAsync("/api/groups/g1/traits/planName/history");
        var winner = history["items"]!.AsArray().OrderBy(i => i!["event_id"]!.GetValue<string>(), StringComparer.Ordinal).Last()!;
        var profile = await OkAsync("/api/groups/g1");

        Assert.Equal(winner["value"]!.GetValue<string>(), profile["traits"]!["planName"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_clear_followed_by_a_later_value_shows_the_later_value()
    {
        await IngestAsync("acme",
            Event("g1", "u1", "2024-01-01T10:00:00Z", """{"group_type":"Account","planName":"Basic"}"""),
            Event("g1", "u1", "2024-01-01T11:00:00Z", """{"group_type":"Account","planName":null}"""),
            Event("g1", "u1", "2024-01-01T12:00:00Z", """{"group_type":"Account","planName":"Pro"}"""));

        Assert.Equal("Pro", (await OkAsync("/api/groups/g1"))["traits"]!["planName"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_duplicate_never_counts_twice()
    {
        var once = Event("g1", "u1", "2024-01-01T10:00:00Z", """{"group_type":"Account","planName":"Basic"}""");
        await IngestAsync("acme", once);
        await IngestAsync("acme", once, once);

        Assert.Equal(1, (await OkAsync("/api/groups/g1"))["member_count"]!.GetValue<long>());
        Assert.Single((await OkAsync("/api/groups/g1/traits/planName/history"))["items"]!.AsArray());
        Assert.Equal(1, (await OkAsync("/api/traits/planName/counts"))["buckets"]![0]!["groups"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("/api/groups/nope")]
    [InlineData("/api/groups/nope/users")]
    [InlineData("/api/groups/nope/traits/planName/history")]
    [InlineData("/api/users/nobody/groups")]
    public async Task Unknown_groups_and_users_are_404_in_the_contract_shape(string path)
    {
        await IngestAsync("acme", Event("g1", "u1", "2024-01-01T10:00:00Z", """{"group_type":"Account"}"""));

        var (status, body) = await GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.False(body["success"]!.GetValue<bool>());
        Assert.False(string.IsNullOrEmpty(body["response_id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_groups_users_are_paged_in_user_id_order()
    {
        await IngestAsync("acme", Enumerable.Range(1, 7).Select(i => Event("g1", $"u{i}", $"2024-01-0{i}T10:00:00Z", """{"group_type":"Team"}""")).ToArray());

        var first = await OkAsync("/api/groups/g1/users?limit=3");
        var second = await OkAsync($"/api/groups/g1/users?limit=3&cursor={first["next_cursor"]}");
        var third = await OkAsync($"/api/groups/g1/users?limit=3&cursor={second["next_cursor"]}");

        Assert.Equal(["u1", "u2", "u3"], Strings(first["items"], "user_id"));
        Assert.Equal(["u4", "u5", "u6"], Strings(second["items"], "user_id"));
        Assert.Equal(["u7"], Strings(third["items"], "user_id"));
        Assert.Null(third["next_cursor"]);
        Assert.Equal("2024-01-07T10:00:00.000000Z", third["items"]![0]!["first_seen"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_users_groups_list_every_membership_with_first_and_last_seen()
    {
        await IngestAsync("acme",
            Event("g2", "u1", "2024-01-02T10:00:00Z", """{"group_type":"Team"}"""),
            Event("g1", "u1", "2024-01-03T10:00:00Z", """{"group_type":"Account"}"""),
            Event("g1", "u1", "2024-01-01T10:00:00Z", """{"group_type":"Account"}"""),
            Event("g3", "u2", "2024-01-01T10:00:00Z", """{"group_type":"Team"}"""));

        var groups = await OkAsync("/api/users/u1/groups");

        Assert.Equal(["g1", "g2"], Strings(groups["items"], "group_id"));
        Assert.Equal("2024-01-01T10:00:00.000000Z", groups["items"]![0]!["first_seen"]!.GetValue<string>());
        Assert.Equal("2024-01-03T10:00:00.000000Z", groups["items"]![0]!["last_seen"]!.GetValue<string>());
    }

    private async Task SeedCatalogueAsync()
    {
        await IngestAsync("acme",
            Event("a1", "u", "2024-01-01T10:00:00Z", """{"group_type":"Account","planName":"Basic","name":"Acme","enrichment_employees":40,"enrichment_tags":["saas","b2b"],"seats":5}"""),
            Event("a2", "u", "2024-01-01T10:00:00Z", """{"group_type":"Account","planName":"Pro","name":"Acorn","enrichment_employees":400,"enrichment_tags":["retail"],"seats":50}"""),
            Event("a3", "u", "2024-01-01T10:00:00Z", """{"group_type":"Account","planName":"Pro","name":"Globex","enrichment_employees":4000}"""),
            Event("t1", "u", "2024-01-01T10:00:00Z", """{"group_type":"Team","planName":"Basic","name":"Ac team"}"""),
            Event("t2", "u", "2024-01-01T10:00:00Z", """{"group_type":"Team"}"""));
        // a1 moves from Basic to Enterprise later: filters see only current values.
        await IngestAsync("acme", Event("a1", "u", "2024-02-01T10:00:00Z", """{"group_type":"Account","planName":"Enterprise"}"""));
    }

    [Theory]
    [InlineData("group_type=Account", "a1,a2,a3")]
    [InlineData("trait.planName=Basic", "t1")]
    [InlineData("trait.planName=Pro&trait.planName=Enterprise", "a1,a2,a3")]
    [InlineData("group_type=Account&trait.planName=Pro", "a2,a3")]
    [InlineData("trait.enrichment_employees.gte=400", "a2,a3")]
    [InlineData("trait.enrichment_employees.gt=40&trait.enrichment_employees.lt=4000", "a2")]
    [InlineData("trait.enrichment_employees=40", "a1")]
    [InlineData("trait.name.prefix=Ac", "a1,a2,t1")]
    [InlineData("trait.enrichment_tags=saas", "a1")]
    [InlineData("trait.seats=50", "a2")]
    [InlineData("trait.seats.lte=5", "a1")]
    [InlineData("trait.planName=Platinum", "")]
    public async Task Groups_are_filtered_by_their_current_trait_values(string filter, string expected)
    {
        await SeedCatalogueAsync();

        var groups = await OkAsync($"/api/groups?{filter}");

        Assert.Equal(expected, string.Join(",", Strings(groups["items"], "group_id")));
    }

    /// <summary>Arrays whose elements hold, or only resemble, the operands the filters below ask for.</summary>
    private async Task SeedArraysAsync()
    {
        await IngestAsync("acme",
            Event("n1", "u", "2024-01-01T10:00:00Z", """{"group_type":"Account","meta":["b","a"],"enrichment_tags":["saas","b2b"]}"""),
            Event("n2", "u", "2024-01-01T10:00:00Z", """{"group_type":"Account","meta":[{"k":["x","a"]}]}"""),
            Event("n3", "u", "2024-01-01T10:00:00Z", """{"group_type":"Account","meta":[["x","a","y"]]}"""),
            Event("n4", "u", "2024-01-01T10:00:00Z", """{"group_type":"Account","meta":[{"k":["x","a","y"]},{"a":"a"}]}"""),
            Event("n5", "u", "2024-01-01T10:00:00Z", """{"group_type":"Account","meta":["[a]","x,\"a\",y","a\\",5.0,[true],[[7]]]}"""),
            Event("n6", "u", "2024-01-01T10:00:00Z", """{"group_type":"Account","meta":"a"}"""),
            Event("n7", "u", "2024-01-01T10:00:00Z", """{"group_type":"Account","meta":[1,{"b":[2]},"a",true,7]}"""),
            Event("n8", "u", "2024-01-01T10:00:00Z", """{"group_type":"Account","enrichment_tags":[],"meta":[]}"""));
    }

    [Theory]
    [InlineData("trait.meta=a", "n1,n6,n7")]
    [InlineData("trait.meta=x", "")]
    [InlineData("trait.meta=%5Ba%5D", "n5")]
    [InlineData("trait.meta=a%5C", "n5")]
    [InlineData("trait.meta=k", "")]
    [InlineData("trait.meta=5.0", "n5")]
    [InlineData("trait.meta=5", "")]
    [InlineData("trait.meta=true", "n7")]
    [InlineData("trait.meta=7", "n7")]
    [InlineData("trait.meta=2", "")]
    [InlineData("trait.meta=y&trait.meta=a", "n1,n6,n7")]
    [InlineData("trait.enrichment_tags=b2b", "n1")]
    public async Task An_array_trait_matches_the_values_it_holds_as_elements_not_values_nested_deeper(string filter, string expected)
    {
        await SeedArraysAsync();

        var groups = await OkAsync($"/api/groups?{filter}");
        var counts = await OkAsync($"/api/traits/group_type/counts?{filter}");

        Assert.Equal(expected, string.Join(",", Strings(groups["items"], "group_id")));
        var matched = expected.Length == 0 ? 0 : expected.Split(',').Length;
        Assert.Equal(matched, counts["buckets"]!.AsArray().Sum(b => b!["groups"]!.GetValue<long>()));
    }

    [Fact]
    public async Task Filtered_groups_carry_their_current_traits_and_page_by_group_id()
    {
        await SeedCatalogueAsync();

        var first = await OkAsync("/api/groups?limit=2");
        var second = await OkAsync($"/api/groups?limit=2&cursor={first["next_cursor"]}");
        var third = await OkAsync($"/api/groups?limit=2&cursor={second["next_cursor"]}");

        Assert.Equal(["a1", "a2"], Strings(first["items"], "group_id"));
        Assert.Equal(["a3", "t1"], Strings(second["items"], "group_id"));
        Assert.Equal(["t2"], Strings(third["items"], "group_id"));
        Assert.Null(third["next_cursor"]);
        Assert.Equal("Enterprise", first["items"]![0]!["traits"]!["planName"]!.GetValue<string>());
        Assert.Equal(40, first["items"]![0]!["traits"]!["enrichment_employees"]!.GetValue<long>());
    }

    [Fact]
    public async Task Counts_list_the_top_values_then_other_and_missing()
    {
        await SeedCatalogueAsync();

        var counts = await OkAsync("/api/traits/planName/counts?top=1");

        Assert.Equal("planName", counts["trait"]!.GetValue<string>());
        var bucket = Assert.Single(counts["buckets"]!.AsArray())!;
        Assert.Equal("Pro", bucket["value"]!.GetValue<string>());
        Assert.Equal(2, bucket["groups"]!.GetValue<long>());
        Assert.Equal(2, counts["other"]!.GetValue<long>());
        Assert.Equal(1, counts["missing"]!.GetValue<long>());
    }

    [Fact]
    public async Task Counts_respect_filters()
    {
        await SeedCatalogueAsync();

        var counts = await OkAsync("/api/traits/planName/counts?group_type=Team");

        var bucket = Assert.Single(counts["buckets"]!.AsArray())!;
        Assert.Equal("Basic", bucket["value"]!.GetValue<string>());
        Assert.Equal(0, counts["other"]!.GetValue<long>());
        Assert.Equal(1, counts["missing"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_traits_history_lists_every_change_oldest_first_with_clears()
    {
        await IngestAsync("acme",
            Event("g1", "u1", "2024-01-03T10:00:00Z", """{"group_type":"Account","planName":null}"""),
            Event("g1", "u1", "2024-01-01T10:00:00Z", """{"group_type":"Account","planName":"Basic"}"""),
            Event("g1", "u1", "2024-01-02T10:00:00Z", """{"group_type":"Account","planName":"Pro"}"""),
            Event("g1", "u1", "2024-01-04T10:00:00Z", """{"group_type":"Account","name":"Acme"}"""));

        var first = await OkAsync("/api/groups/g1/traits/planName/history?limit=2");
        var second = await OkAsync($"/api/groups/g1/traits/planName/history?limit=2&cursor={first["next_cursor"]}");

        var items = first["items"]!.AsArray().Concat(second["items"]!.AsArray()).ToList();
        Assert.Equal(["2024-01-01T10:00:00.000000Z", "2024-01-02T10:00:00.000000Z", "2024-01-03T10:00:00.000000Z"],
            items.Select(i => i!["timestamp"]!.GetValue<string>()));
        Assert.Equal("Pro", items[1]!["value"]!.GetValue<string>());
        Assert.True(items[2]!["cleared"]!.GetValue<bool>());
        Assert.Null(items[2]!["value"]);
        Assert.Null(second["next_cursor"]);
    }

    [Theory]
    [InlineData("/api/groups?limit=0", "limit")]
    [InlineData("/api/groups?limit=501", "limit")]
    [InlineData("/api/groups?limit=ten", "limit")]
    [InlineData("/api/groups?cursor=not-a-cursor", "cursor")]
    [InlineData("/api/groups?colour=red", "colour")]
    [InlineData("/api/groups?trait.planName.gte=3", "trait.planName.gte")]
    [InlineData("/api/groups?trait.enrichment_employees=many", "trait.enrichment_employees")]
    [InlineData("/api/groups?trait.enrichment_employees.prefix=4", "trait.enrichment_employees.prefix")]
    [InlineData("/api/groups?trait.seats.lt=abc", "trait.seats.lt")]
    [InlineData("/api/groups/g1?trait.planName=Pro", "trait.planName")]
    [InlineData("/api/traits/planName/counts?top=0", "top")]
    [InlineData("/api/groups/g1/traits/planName/history?cursor=djE6bm9wZQ", "cursor")]
    public async Task Bad_parameters_are_400_naming_the_parameter(string path, string parameter)
    {
        await IngestAsync("acme", Event("g1", "u1", "2024-01-01T10:00:00Z", """{"group_type":"Account"}"""));

        var (status, body) = await GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.False(body["success"]!.GetValue<bool>());
        Assert.Contains(body["errors"]!.AsArray(), e => e!["field"]!.GetValue<string>() == parameter);
    }

    [Fact]
    public async Task Reading_needs_the_analytics_read_scope()
    {
        await IngestAsync("acme", Event("g1", "u1", "2024-01-01T10:00:00Z", """{"group_type":"Account"}"""));

        var (status, body) = await GetAsync("/api/groups/g1", scope: PlatformScopes.GroupApi);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.False(body["success"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Reading_without_a_token_is_401()
    {
        using var response = await _host.Client.GetAsync("/api/groups");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task A_tenant_cannot_see_count_or_page_into_another_tenants_groups()
    {
        await IngestAsync("acme",
            Event("shared-id", "u1", "2024-01-01T10:00:00Z", """{"group_type":"Account","planName":"Acme-only"}"""),
            Event("acme-only", "u1", "2024-01-01T10:00:00Z", """{"group_type":"Account","planName":"Acme-only"}"""),
            Event("acme-2", "u1", "2024-01-01T10:00:00Z", """{"group_type":"Account","planName":"Acme-only"}"""));
        await IngestAsync("globex", Event("shared-id", "u9", "2024-01-01T10:00:00Z", """{"group_type":"Team","planName":"Globex-plan"}"""));
        var acmePage = await OkAsync("/api/groups?limit=1");

        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/api/groups/acme-only", "globex")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/api/users/u1/groups", "globex")).Status);
        var shared = await OkAsync("/api/groups/shared-id", "globex");
        Assert.Equal("""{"group_type":"Team","planName":"Globex-plan"}""", shared["traits"]!.ToJsonString());
        Assert.Equal(1, shared["member_count"]!.GetValue<long>());
        Assert.Equal(["shared-id"], Strings((await OkAsync("/api/groups", "globex"))["items"], "group_id"));
        Assert.Empty((await OkAsync("/api/groups?trait.planName=Acme-only", "globex"))["items"]!.AsArray());
        // A cursor is only a position: used by another tenant it pages through that tenant's own groups.
        var paged = (await OkAsync($"/api/groups?cursor={acmePage["next_cursor"]}", "globex"))["items"]!.AsArray();
        Assert.Equal("Globex-plan", Assert.Single(paged)!["traits"]!["planName"]!.GetValue<string>());
        var counts = await OkAsync("/api/traits/planName/counts", "globex");
        Assert.Equal("Globex-plan", Assert.Single(counts["buckets"]!.AsArray())!["value"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/api/groups/acme-only/users", "globex")).Status);
    }

    [Fact]
    public async Task Ids_with_reserved_characters_round_trip()
    {
        const string groupId = "acme inc/eu?x=1&y=%";
        await IngestAsync("acme", Event(JsonEncodedText.Encode(groupId).ToString(), "user'1", "2024-01-01T10:00:00Z", """{"group_type":"Account"}"""));

        var profile = await OkAsync("/api/groups/" + Uri.EscapeDataString(groupId));

        Assert.Equal(groupId, profile["group_id"]!.GetValue<string>());
        Assert.Equal([groupId], Strings((await OkAsync("/api/users/user'1/groups"))["items"], "group_id"));
    }
}

/// <summary>The query contract on the embedded DuckDB backend.</summary>
public sealed class DuckDbQueryApiTests : QueryApiContract
{
    internal override IngestHost CreateHost() => new();
}
