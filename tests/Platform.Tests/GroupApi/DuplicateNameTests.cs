using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.GroupApi;

/// <summary>
/// A name given twice in one object inside a trait value or the context is refused, naming the path: storage would keep
/// both members and a reader would pick one of them (found by the HTTP fuzz test, seed 7, mutant 395).
/// </summary>
public sealed class DuplicateNameTests
{
    [Theory]
    [InlineData("""{"group_type":"Team","meta":{"a":1,"a":2}}""", null, "traits.meta.a")]
    [InlineData("""{"group_type":"Team","meta":{"x":[{"k":1,"k":1}]}}""", null, "traits.meta.x[0].k")]
    [InlineData("""{"group_type":"Team","meta":{"a":1,"\u0061":2}}""", null, "traits.meta.a")]
    [InlineData("""{"group_type":"Team"}""", """{"deep":{"d":1},"deep":{"d":2},"ip":"::1"}""", "context.deep")]
    [InlineData("""{"group_type":"Team"}""", """{"lib":{"v":{"b":1,"a":1,"b":1}}}""", "context.lib.v.b")]
    public void A_name_given_twice_in_a_nested_object_is_refused_naming_it(string traits, string? context, string field)
    {
        var outcome = Parse(Event(traits: traits, extra: context is null ? null : $"\"context\":{context}"));

        var error = Assert.Single(outcome.Errors);
        Assert.Equal((0, field), (error.Index ?? -1, error.Field));
        Assert.Equal("appears more than once", error.Message);
        Assert.Empty(outcome.Events);
    }

    [Fact]
    public void Names_that_differ_only_in_case_are_different_names()
    {
        var outcome = Parse(Event(traits: """{"group_type":"Team","meta":{"b":1,"a":1,"A":2}}""", extra: "\"context\":{\"z\":1,\"Z\":2}"));

        Assert.True(outcome.IsValid, string.Join("; ", outcome.Errors));
        Assert.Equal("""{"A":2,"a":1,"b":1}""", Assert.Single(Assert.Single(outcome.Events).Traits, t => t.Key == "meta").Json);
    }
}
