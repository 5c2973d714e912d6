using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.GroupApi;

public sealed class BodyShapeTests
{
    [Fact]
    public void An_array_of_events_is_a_batch()
    {
        var outcome = Parse(Batch(3));

        Assert.True(outcome.IsValid);
        Assert.Equal(["u0", "u1", "u2"], outcome.Events.Select(e => e.UserId));
    }

    [Fact]
    public void A_single_event_object_is_a_batch_of_one()
    {
        var outcome = Parse(Event());

        Assert.True(outcome.IsValid);
        Assert.Single(outcome.Events);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("[]")]
    [InlineData("\"events\"")]
    [InlineData("42")]
    [InlineData("null")]
    public void A_body_without_events_is_refused(string body)
    {
        var outcome = Parse(body);

        var error = Assert.Single(outcome.Errors);
        Assert.Null(error.Index);
        Assert.Equal("body", error.Field);
    }

    [Theory]
    [InlineData("[{\"group_id\":\"g1\",")]
    [InlineData("[{\"group_id\":\"g1\"}")]
    [InlineData("[{'group_id':'g1'}]")]
    [InlineData("[{\"group_id\":\"g1\",}]")]
    [InlineData("[/* comment */]")]
    public void Malformed_JSON_is_refused_with_the_position(string body)
    {
        var outcome = Parse(body);

        var error = Assert.Single(outcome.Errors);
        Assert.Equal("body", error.Field);
        Assert.Contains("not valid JSON", error.Message, StringComparison.Ordinal);
        Assert.Empty(outcome.Events);
    }

    [Fact]
    public void Content_after_the_JSON_value_is_refused()
    {
        var outcome = Parse(Batch(1) + "[]");

        Assert.Contains(outcome.Errors, e => e.Field == "body");
    }

    [Fact]
    public void An_element_that_is_not_an_object_is_reported_at_its_index()
    {
        var outcome = Parse($"[{Event()},\"oops\",{Event(userId: "u2")}]");

        var error = Assert.Single(outcome.Errors);
        Assert.Equal(1, error.Index);
        Assert.Empty(outcome.Events);
    }

    [Fact]
    public void Every_problem_of_every_event_is_listed_with_its_index_and_field()
    {
        var bad0 = """{"group_id":7,"user_id":"","timestamp":"yesterday","traits":{"group_type":"Team"}}""";
        var bad2 = """{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"name":"x"}}""";

        var outcome = Parse($"[{bad0},{Event()},{bad2}]");

        Assert.Equal(
            [(0, "group_id"), (0, "user_id"), (0, "timestamp"), (2, "traits.group_type")],
            outcome.Errors.Select(e => (e.Index ?? -1, e.Field)).OrderBy(p => p.Item1).ThenBy(p => p.Item2 == "group_id" ? 0 : p.Item2 == "user_id" ? 1 : 2));
    }

    [Fact]
    public void One_bad_event_makes_the_whole_batch_invalid()
    {
        var outcome = Parse($"[{Event()},{Event(userId: "u2", traits: "{}")}]");

        Assert.False(outcome.IsValid);
        Assert.Empty(outcome.Events);
    }

    [Fact]
    public void Unknown_top_level_fields_are_ignored()
    {
        var outcome = Parse(Event(extra: "\"type\":\"group\",\"anonymousId\":{\"x\":[1,2]}"));

        Assert.True(outcome.IsValid);
    }

    [Fact]
    public void A_field_given_twice_is_refused()
    {
        var outcome = Parse(Event(extra: "\"user_id\":\"u9\""));

        var error = Assert.Single(outcome.Errors);
        Assert.Equal("user_id", error.Field);
    }

    [Fact]
    public void The_listed_problems_are_capped_and_the_rest_counted()
    {
        var outcome = Parse(Batch(1000, i => $$"""{"group_id":1,"user_id":2,"timestamp":3,"traits":4}"""));

        Assert.Equal(Platform.Ingest.GroupApi.GroupEventParser.MaxListedErrors + 1, outcome.Errors.Count);
        Assert.Contains("more problems", outcome.Errors[^1].Message, StringComparison.Ordinal);
    }
}
