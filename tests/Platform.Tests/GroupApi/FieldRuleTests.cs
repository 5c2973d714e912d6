using Platform.Ingest.Events;
using Platform.Ingest.GroupApi;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.GroupApi;

public sealed class FieldRuleTests
{
    private static Platform.ServiceDefaults.Contract.ApiError SingleError(string json) => Assert.Single(Parse(json).Errors);

    [Fact]
    public void Group_id_is_required()
    {
        Assert.Equal("group_id", SingleError(Event(groupId: null)).Field);
    }

    [Fact]
    public void Group_id_is_read_from_context_when_the_top_level_has_none()
    {
        var outcome = Parse(Event(groupId: null, extra: "\"context\":{\"group_id\":\"7cc972d3\"}"));

        Assert.Equal("7cc972d3", Assert.Single(outcome.Events).GroupId);
    }

    [Fact]
    public void The_reference_example_with_group_id_in_context_is_accepted()
    {
        const string reference = """
            [
              {
                "user_id": "1820abb7-e6d4-45ec-8bc5-9a5c13ba06ca",
                "traits": { "group_type": "Team", "industry": "Telecommunications", "name": "Acme", "domain": "acme.com", "planName": "Basic" },
                "context": { "group_id": "7cc972d3-685d-4106-a862-4fc37da0eca4" },
                "timestamp": "2023-12-14T16:07:33.571125Z"
              }
            ]
            """;

        var groupEvent = Assert.Single(Parse(reference).Events);

        Assert.Equal("7cc972d3-685d-4106-a862-4fc37da0eca4", groupEvent.GroupId);
        Assert.Equal("Team", groupEvent.GroupType);
    }

    [Fact]
    public void A_top_level_group_id_wins_over_context()
    {
        var outcome = Parse(Event(groupId: "top", extra: "\"context\":{\"group_id\":\"nested\"}"));

        Assert.Equal("top", Assert.Single(outcome.Events).GroupId);
    }

    [Fact]
    public void A_context_group_id_that_is_not_a_string_is_refused()
    {
        Assert.Equal("context.group_id", SingleError(Event(groupId: null, extra: "\"context\":{\"group_id\":42}")).Field);
    }

    [Theory]
    [InlineData("\"group_id\":42", "group_id")]
    [InlineData("\"group_id\":\"\"", "group_id")]
    [InlineData("\"group_id\":\"   \"", "group_id")]
    [InlineData("\"group_id\":[\"g\"]", "group_id")]
    public void Group_id_must_be_a_non_empty_string(string member, string field)
    {
        var json = $$$"""{{{{member}}},"user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"}}""";

        Assert.Equal(field, SingleError(json).Field);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\"user_id\":null,")]
    [InlineData("\"user_id\":17,")]
    [InlineData("\"user_id\":\"\",")]
    public void User_id_is_required_and_a_non_empty_string(string member)
    {
        var json = $$$"""{{{{member}}}"group_id":"g","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team"}}""";

        Assert.Equal("user_id", SingleError(json).Field);
    }

    [Fact]
    public void Timestamp_is_required()
    {
        var json = """{"group_id":"g","user_id":"u","traits":{"group_type":"Team"}}""";

        Assert.Equal("timestamp", SingleError(json).Field);
    }

    [Theory]
    [InlineData("2023-12-14T16:07:33")]
    [InlineData("2023-12-14 16:07:33Z")]
    [InlineData("2023-02-30T16:07:33Z")]
    [InlineData("14/12/2023")]
    [InlineData("1702570053")]
    public void Timestamp_must_be_ISO_8601_with_a_zone(string timestamp)
    {
        Assert.Equal("timestamp", SingleError(Event(timestamp: timestamp)).Field);
    }

    [Fact]
    public void Timestamp_as_a_number_is_refused()
    {
        var json = """{"group_id":"g","user_id":"u","timestamp":1702570053,"traits":{"group_type":"Team"}}""";

        Assert.Equal("timestamp", SingleError(json).Field);
    }

    [Fact]
    public void Timestamps_are_normalised_to_UTC_with_microseconds()
    {
        var outcome = Parse(Event(timestamp: "2023-12-14T18:07:33.571125+02:00"));

        var micros = Assert.Single(outcome.Events).TimestampMicros;
        Assert.Equal("2023-12-14T16:07:33.571125Z", IsoTimestamp.Format(micros));
    }

    [Fact]
    public void Traits_are_required()
    {
        var json = """{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z"}""";

        Assert.Equal("traits.group_type", SingleError(json).Field);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"Team\"")]
    [InlineData("null")]
    public void Traits_must_be_an_object(string traits)
    {
        Assert.Equal("traits", SingleError(Event(traits: traits)).Field);
    }

    [Theory]
    [InlineData("""{"name":"Acme"}""")]
    [InlineData("""{"group_type":""}""")]
    [InlineData("""{"group_type":"  "}""")]
    [InlineData("""{"group_type":null}""")]
    [InlineData("""{"group_type":3}""")]
    public void Group_type_is_a_required_non_empty_string(string traits)
    {
        Assert.Equal("traits.group_type", SingleError(Event(traits: traits)).Field);
    }

    [Theory]
    [InlineData("name", "42")]
    [InlineData("planName", "true")]
    [InlineData("enrichment_domain", "[\"a.com\"]")]
    [InlineData("enrichment_country", "{\"code\":\"DE\"}")]
    public void Known_string_traits_must_be_strings(string trait, string value)
    {
        Assert.Equal($"traits.{trait}", SingleError(Event(traits: $$"""{"group_type":"Team","{{trait}}":{{value}}}""")).Field);
    }

    [Theory]
    [InlineData("enrichment_employees", "12.5")]
    [InlineData("enrichment_employees", "\"120\"")]
    [InlineData("enrichment_founder_year", "1e40")]
    [InlineData("enrichment_founder_year", "[1999]")]
    public void Known_integer_traits_must_be_integers(string trait, string value)
    {
        Assert.Equal($"traits.{trait}", SingleError(Event(traits: $$"""{"group_type":"Team","{{trait}}":{{value}}}""")).Field);
    }

    [Fact]
    public void Known_integer_traits_accept_integers()
    {
        var outcome = Parse(Event(traits: """{"group_type":"Team","enrichment_employees":120,"enrichment_founder_year":1999}"""));

        var traits = Assert.Single(outcome.Events).Traits;
        Assert.Contains(new TraitValue("enrichment_employees", "120"), traits);
    }

    [Fact]
    public void Known_array_traits_must_hold_only_strings()
    {
        Assert.Equal("traits.enrichment_tags[1]", SingleError(Event(traits: """{"group_type":"Team","enrichment_tags":["saas",7]}""")).Field);
        Assert.Equal("traits.enrichment_tags", SingleError(Event(traits: """{"group_type":"Team","enrichment_tags":"saas"}""")).Field);
        Assert.True(Parse(Event(traits: """{"group_type":"Team","enrichment_tags":["saas","b2b"]}""")).IsValid);
    }

    [Fact]
    public void Unknown_traits_accept_any_JSON_value()
    {
        var outcome = Parse(Event(traits: """{"group_type":"Team","industry":"Telecom","seats":12.5,"beta":true,"meta":{"b":1,"a":[1,"x"]}}"""));

        var traits = Assert.Single(outcome.Events).Traits.ToDictionary(t => t.Key, t => t.Json);
        Assert.Equal("\"Telecom\"", traits["industry"]);
        Assert.Equal("12.5", traits["seats"]);
        Assert.Equal("true", traits["beta"]);
        Assert.Equal("""{"a":[1,"x"],"b":1}""", traits["meta"]);
    }

    [Fact]
    public void A_null_trait_is_kept_as_a_clear()
    {
        var outcome = Parse(Event(traits: """{"group_type":"Team","planName":null,"industry":null}"""));

        var traits = Assert.Single(outcome.Events).Traits;
        Assert.Contains(new TraitValue("planName", null), traits);
        Assert.Contains(new TraitValue("industry", null), traits);
    }

    [Fact]
    public void A_trait_given_twice_is_refused()
    {
        Assert.Equal("traits.name", SingleError(Event(traits: """{"group_type":"Team","name":"a","name":"b"}""")).Field);
    }

    [Fact]
    public void Context_must_be_an_object()
    {
        Assert.Equal("context", SingleError(Event(extra: "\"context\":\"web\"")).Field);
    }

    [Fact]
    public void Message_id_is_read_in_either_spelling()
    {
        Assert.Equal("m-1", Assert.Single(Parse(Event(extra: "\"message_id\":\"m-1\"")).Events).MessageId);
        Assert.Equal("m-2", Assert.Single(Parse(Event(extra: "\"messageId\":\"m-2\"")).Events).MessageId);
    }

    [Fact]
    public void Disagreeing_message_id_spellings_are_refused()
    {
        Assert.Equal("message_id", SingleError(Event(extra: "\"message_id\":\"a\",\"messageId\":\"b\"")).Field);
    }

    [Fact]
    public void Traits_are_stored_sorted_with_a_canonical_JSON_object()
    {
        var groupEvent = Assert.Single(Parse(Event(traits: """{ "name" : "Zürich AG", "group_type" : "Team" }""")).Events);

        Assert.Equal(["group_type", "name"], groupEvent.Traits.Select(t => t.Key));
        Assert.Equal("""{"group_type":"Team","name":"Zürich AG"}""", groupEvent.TraitsJson);
    }
}
