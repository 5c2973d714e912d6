using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.GroupApi;

public sealed class LimitTests
{
    [Fact]
    public void Exactly_1000_events_are_accepted()
    {
        var outcome = Parse(Batch(1000, i => Event(groupId: $"g{i % 100}", userId: $"u{i}")));

        Assert.True(outcome.IsValid, string.Join("; ", outcome.Errors));
        Assert.Equal(1000, outcome.Events.Count);
    }

    [Fact]
    public void Event_1001_makes_the_request_invalid()
    {
        var outcome = Parse(Batch(1001, i => Event(groupId: $"g{i % 100}", userId: $"u{i}")));

        var error = Assert.Single(outcome.Errors);
        Assert.Equal("body", error.Field);
        Assert.Contains("1001 events", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_event_limit_is_configurable()
    {
        Assert.True(Parse(Batch(5), o => o.MaxEventsPerRequest = 5).IsValid);
        Assert.False(Parse(Batch(6), o => o.MaxEventsPerRequest = 5).IsValid);
    }

    [Fact]
    public void Exactly_100_distinct_groups_are_accepted()
    {
        var outcome = Parse(Batch(300, i => Event(groupId: $"g{i % 100}", userId: $"u{i}")));

        Assert.True(outcome.IsValid);
    }

    [Fact]
    public void A_101st_distinct_group_makes_the_request_invalid()
    {
        var outcome = Parse(Batch(101, i => Event(groupId: $"g{i}")));

        var error = Assert.Single(outcome.Errors);
        Assert.Equal("group_id", error.Field);
        Assert.Contains("101 distinct groups", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("group_id")]
    [InlineData("user_id")]
    [InlineData("message_id")]
    public void Ids_up_to_256_bytes_are_accepted_and_longer_refused(string field)
    {
        string WithId(string id) => field switch
        {
            "group_id" => Event(groupId: id),
            "user_id" => Event(userId: id),
            _ => Event(extra: $"\"message_id\":\"{id}\""),
        };

        Assert.True(Parse(WithId(new string('a', 256))).IsValid);
        var error = Assert.Single(Parse(WithId(new string('a', 257))).Errors);
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void Id_length_counts_UTF8_bytes()
    {
        // 'é' is two bytes: 128 of them are 256 bytes, 129 are 258.
        Assert.True(Parse(Event(userId: new string('é', 128))).IsValid);
        Assert.False(Parse(Event(userId: new string('é', 129))).IsValid);
    }

    [Fact]
    public void Up_to_200_traits_are_accepted_and_201_refused()
    {
        static string Traits(int count) =>
            "{\"group_type\":\"Team\"" + string.Concat(Enumerable.Range(1, count - 1).Select(i => $",\"t{i}\":{i}")) + "}";

        Assert.True(Parse(Event(traits: Traits(200))).IsValid);
        var error = Assert.Single(Parse(Event(traits: Traits(201))).Errors);
        Assert.Equal("traits", error.Field);
    }

    [Fact]
    public void Trait_names_up_to_128_bytes_are_accepted_and_longer_refused()
    {
        Assert.True(Parse(Event(traits: $$"""{"group_type":"Team","{{new string('k', 128)}}":1}""")).IsValid);
        Assert.False(Parse(Event(traits: $$"""{"group_type":"Team","{{new string('k', 129)}}":1}""")).IsValid);
    }

    [Fact]
    public void An_empty_trait_name_is_refused()
    {
        Assert.False(Parse(Event(traits: """{"group_type":"Team","":1}""")).IsValid);
    }

    [Fact]
    public void Trait_values_up_to_32_KiB_are_accepted_and_larger_refused()
    {
        // The value is measured as minified JSON: the quotes count.
        var fits = new string('v', (32 * 1024) - 2);
        Assert.True(Parse(Event(traits: $$"""{"group_type":"Team","notes":"{{fits}}"}""")).IsValid);

        var error = Assert.Single(Parse(Event(traits: $$"""{"group_type":"Team","notes":"{{fits}}v"}""")).Errors);
        Assert.Equal("traits.notes", error.Field);
    }

    [Fact]
    public void Context_up_to_its_cap_is_accepted_and_larger_refused()
    {
        // {"k":"..."} is 8 bytes plus the text.
        var fits = new string('c', (32 * 1024) - 8);
        Assert.True(Parse(Event(extra: $$"""  "context":{"k":"{{fits}}"}""")).IsValid);

        var error = Assert.Single(Parse(Event(extra: $$"""  "context":{"k":"{{fits}}c"}""")).Errors);
        Assert.Equal("context", error.Field);
    }

    [Fact]
    public void Nesting_deeper_than_the_cap_is_refused()
    {
        static string Nested(int depth) => new string('[', depth) + new string(']', depth);

        // The batch array, the event object and the traits object take three levels: 3 + 29 = 32.
        Assert.True(Parse(Batch(1, _ => Event(traits: $$"""{"group_type":"Team","deep":{{Nested(29)}}}""")), o => o.MaxJsonDepth = 32).IsValid);
        Assert.False(Parse(Batch(1, _ => Event(traits: $$"""{"group_type":"Team","deep":{{Nested(30)}}}""")), o => o.MaxJsonDepth = 32).IsValid);
    }
}
