using System.Text;
using Microsoft.Extensions.Options;
using Platform.Ingest.Events;
using Platform.Ingest.GroupApi;
using Platform.Ingest.Segment;
using Platform.Tests.GroupApi;

namespace Platform.Tests.Segment;

/// <summary>How Segment-spec calls become group events (no server: the parser on a clock fixed at 2026-01-01T00:00:00Z).</summary>
public sealed class SegmentParserTests
{
    private const long NowMicros = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z

    private static SegmentOutcome Parse(string json, bool isBatch = true, Action<SegmentOptions>? adjust = null, string tenant = "acme")
    {
        var segment = new SegmentOptions();
        adjust?.Invoke(segment);
        var parser = new SegmentParser(ParserFixture.Create(), Options.Create(new GroupApiOptions()), Options.Create(segment));
        return parser.Parse(Encoding.UTF8.GetBytes(json), tenant, isBatch);
    }

    private static GroupEvent Single(SegmentOutcome outcome)
    {
        Assert.Empty(outcome.BodyErrors);
        Assert.Empty(outcome.CallErrors);
        return Assert.Single(outcome.Groups.Events);
    }

    private static string Trait(GroupEvent groupEvent, string key) => groupEvent.Traits.Single(t => t.Key == key).Json!;

    [Fact]
    public void Every_field_of_a_group_call_is_mapped_onto_the_event()
    {
        var outcome = Parse("""
            {"type":"group","userId":"u-1","anonymousId":"anon-1","groupId":"g-1","messageId":"m-1",
             "timestamp":"2025-12-31T23:00:00.123456Z","traits":{"name":"Acme","plan":"Pro","employees":40},
             "context":{"library":{"name":"analytics-node","version":"3.1.0"}},"integrations":{"All":true},"_metadata":{"x":1}}
            """, isBatch: false);

        var groupEvent = Single(outcome);
        Assert.Equal("g-1", groupEvent.GroupId);
        Assert.Equal("u-1", groupEvent.UserId);
        Assert.Equal("m-1", groupEvent.MessageId);
        Assert.Equal(NowMicros - 3_600_000_000 + 123_456, groupEvent.TimestampMicros);
        Assert.Equal("Account", groupEvent.GroupType);
        Assert.Equal("""{"employees":40,"group_type":"Account","name":"Acme","plan":"Pro"}""", groupEvent.TraitsJson);
        Assert.Equal("""{"library":{"name":"analytics-node","version":"3.1.0"}}""", groupEvent.ContextJson);
    }

    [Fact]
    public void A_call_with_only_an_anonymousId_is_stored_under_the_prefixed_anonymous_id()
    {
        var groupEvent = Single(Parse("""{"anonymousId":"a-7","groupId":"g","timestamp":"2025-12-31T00:00:00Z"}""", isBatch: false));

        Assert.Equal("anonymous:a-7", groupEvent.UserId);
    }

    [Fact]
    public void The_anonymous_prefix_is_configurable_and_may_be_empty()
    {
        var groupEvent = Single(Parse("""{"anonymousId":"a-7","groupId":"g"}""", isBatch: false, adjust: o => o.AnonymousIdPrefix = ""));

        Assert.Equal("a-7", groupEvent.UserId);
    }

    [Fact]
    public void Numeric_ids_are_taken_as_their_text()
    {
        var groupEvent = Single(Parse("""{"userId":42,"groupId":1001}""", isBatch: false));

        Assert.Equal(("1001", "42"), (groupEvent.GroupId, groupEvent.UserId));
    }

    [Fact]
    public void A_group_type_trait_wins_over_the_configured_trait_and_the_default()
    {
        var groupEvent = Single(Parse("""{"userId":"u","groupId":"g","traits":{"group_type":"Team","type":"Partner"}}""", isBatch: false,
            adjust: o => o.GroupTypeTrait = "type"));

        Assert.Equal("Team", groupEvent.GroupType);
    }

    [Fact]
    public void The_configured_trait_supplies_the_group_type_when_there_is_no_group_type()
    {
        var groupEvent = Single(Parse("""{"userId":"u","groupId":"g","traits":{"type":"Partner"}}""", isBatch: false,
            adjust: o => o.GroupTypeTrait = "type"));

        Assert.Equal("Partner", groupEvent.GroupType);
        Assert.Equal("\"Partner\"", Trait(groupEvent, "group_type"));
        Assert.Equal("\"Partner\"", Trait(groupEvent, "type"));
    }

    [Fact]
    public void Without_traits_the_default_group_type_is_the_only_trait()
    {
        var groupEvent = Single(Parse("""{"userId":"u","groupId":"g"}""", isBatch: false, adjust: o => o.DefaultGroupType = "Company"));

        Assert.Equal("""{"group_type":"Company"}""", groupEvent.TraitsJson);
    }

    [Fact]
    public void Known_traits_are_type_checked_as_in_the_group_api()
    {
        var outcome = Parse("""{"userId":"u","groupId":"g","traits":{"enrichment_employees":"many"}}""", isBatch: false);

        Assert.True(outcome.IsHopeless);
        Assert.Equal("traits.enrichment_employees", Assert.Single(outcome.CallErrors).Field);
    }

    [Fact]
    public void SentAt_corrects_the_senders_clock_as_Segment_does()
    {
        // The SDK's clock is 2 hours fast: it stamped the call at 02:00 and sent it 5 s later by its clock.
        var groupEvent = Single(Parse("""
            {"batch":[{"type":"group","userId":"u","groupId":"g","timestamp":"2026-01-01T02:00:00Z","sentAt":"2026-01-01T02:00:05Z"}]}
            """));

        Assert.Equal(NowMicros - 5_000_000, groupEvent.TimestampMicros);
    }

    [Fact]
    public void The_batch_sentAt_applies_to_calls_without_their_own()
    {
        var groupEvent = Single(Parse("""
            {"batch":[{"type":"group","userId":"u","groupId":"g","originalTimestamp":"2025-12-31T23:59:00Z"}],"sentAt":"2026-01-01T00:00:30Z"}
            """));

        Assert.Equal(NowMicros - 90_000_000, groupEvent.TimestampMicros);
    }

    [Fact]
    public void Without_correction_the_senders_time_is_stored_and_a_fast_clock_is_refused_as_in_the_group_api()
    {
        var outcome = Parse("""{"userId":"u","groupId":"g","timestamp":"2026-01-01T02:00:00Z","sentAt":"2026-01-01T02:00:05Z"}""",
            isBatch: false, adjust: o => o.CorrectClockSkew = false);

        Assert.Equal("timestamp", Assert.Single(outcome.CallErrors).Field);
    }

    [Fact]
    public void The_identity_hashes_the_senders_time_so_a_resend_with_a_later_sentAt_is_the_same_event()
    {
        const string Call = """{"type":"group","userId":"u","groupId":"g","timestamp":"2025-12-31T23:00:00Z","sentAt":"SENT"}""";
        var first = Single(Parse("{\"batch\":[" + Call.Replace("SENT", "2025-12-31T23:00:01Z", StringComparison.Ordinal) + "]}"));
        var resent = Single(Parse("{\"batch\":[" + Call.Replace("SENT", "2025-12-31T23:10:00Z", StringComparison.Ordinal) + "]}"));

        Assert.Equal(first.Key, resent.Key);
        Assert.NotEqual(first.TimestampMicros, resent.TimestampMicros);
    }

    [Fact]
    public void A_messageId_is_the_same_identity_as_the_group_apis_message_id()
    {
        var segment = Single(Parse("""{"userId":"u","groupId":"g","messageId":"m-42","traits":{"group_type":"Team"}}""", isBatch: false));
        var groupApi = Assert.Single(ParserFixture.Parse(ParserFixture.Event(extra: "\"message_id\":\"m-42\"")).Events);

        Assert.Equal(groupApi.Key, segment.Key);
    }

    [Fact]
    public void The_batch_context_is_merged_into_each_call_and_the_calls_own_members_win()
    {
        var outcome = Parse("""
            {"context":{"ip":"1.2.3.4","library":{"name":"batch"}},
             "batch":[{"type":"group","userId":"u","groupId":"g","context":{"library":{"name":"call"},"locale":"en"}},
                      {"type":"group","userId":"v","groupId":"g"}]}
            """);

        Assert.Empty(outcome.CallErrors);
        Assert.Equal(
            ["""{"ip":"1.2.3.4","library":{"name":"call"},"locale":"en"}""", """{"ip":"1.2.3.4","library":{"name":"batch"}}"""],
            outcome.Groups.Events.Select(e => e.ContextJson));
    }

    [Fact]
    public void Calls_of_other_types_are_counted_as_skipped_and_the_group_calls_stored()
    {
        var outcome = Parse("""
            {"batch":[{"type":"identify","userId":"u","traits":{"email":"x@y"}},
                      {"type":"group","userId":"u","groupId":"g"},
                      {"type":"track","userId":"u","event":"Clicked"},
                      {"type":"page","userId":"u"},{"type":"alias","userId":"u","previousId":"p"}]}
            """);

        Assert.Equal((5, 4, 0), (outcome.Calls, outcome.Skipped, outcome.Rejected));
        Assert.Equal("g", Assert.Single(outcome.Groups.Events).GroupId);
        Assert.False(outcome.IsHopeless);
    }

    [Fact]
    public void An_invalid_group_call_is_listed_by_index_and_the_valid_ones_kept()
    {
        var outcome = Parse("""
            {"batch":[{"type":"group","userId":"u","groupId":"g1"},{"type":"group","userId":"u"},{"userId":"u","groupId":"g3"},
                      {"type":"group","groupId":"g4"},{"type":"group","userId":"u","groupId":"g5"}]}
            """);

        Assert.Equal(["g1", "g5"], outcome.Groups.Events.Select(e => e.GroupId));
        Assert.Equal([(1, "groupId"), (2, "type"), (3, "userId")], outcome.CallErrors.Select(e => (e.Index ?? -1, e.Field)));
        Assert.Equal(3, outcome.Rejected);
        Assert.False(outcome.IsHopeless);
    }

    [Theory]
    [InlineData("""[{"type":"group","userId":"u","groupId":"g"}]""")]
    [InlineData("""{"calls":[]}""")]
    [InlineData("""{"batch":{}}""")]
    [InlineData("""{"batch":[],"batch":[]}""")]
    [InlineData("""{"batch":[""")]
    [InlineData("""{"batch":[],"sentAt":"yesterday"}""")]
    public void A_body_that_can_never_succeed_is_hopeless(string json)
    {
        var outcome = Parse(json);

        Assert.True(outcome.IsHopeless);
        Assert.NotEmpty(outcome.BodyErrors);
        Assert.Empty(outcome.Groups.Events);
    }

    [Fact]
    public void Another_type_at_the_group_endpoint_is_refused()
    {
        var outcome = Parse("""{"type":"track","userId":"u","event":"x"}""", isBatch: false);

        Assert.True(outcome.IsHopeless);
        Assert.Equal("type", Assert.Single(outcome.CallErrors).Field);
    }
}
