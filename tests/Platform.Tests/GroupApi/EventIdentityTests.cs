using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.GroupApi;

public sealed class EventIdentityTests
{
    private static UInt128 KeyOf(string json, string tenant = "acme") => Assert.Single(Parse(json, tenant: tenant).Events).Key;

    [Fact]
    public void The_same_content_has_the_same_identity()
    {
        Assert.Equal(KeyOf(Event()), KeyOf(Event()));
    }

    [Fact]
    public void Whitespace_and_member_order_do_not_change_the_identity()
    {
        var compact = """{"group_id":"g","user_id":"u","timestamp":"2023-12-14T16:07:33Z","traits":{"group_type":"Team","name":"A","meta":{"x":1,"y":2}},"context":{"ip":"1.2.3.4","lib":"x"}}""";
        var spaced = """
            { "traits": { "meta": { "y": 2, "x": 1 }, "name": "A", "group_type": "Team" },
              "context": { "lib": "x", "ip": "1.2.3.4" },
              "timestamp": "2023-12-14T16:07:33Z", "user_id": "u", "group_id": "g" }
            """;

        Assert.Equal(KeyOf(compact), KeyOf(spaced));
    }

    [Theory]
    // Already sorted (written as read), unsorted at some level (rebuilt), escaped and non-ASCII names (rebuilt).
    [InlineData("""{"a":{"b":1,"c":[1,{"d":3,"e":2}]},"lib":"x"}""", "0dc3f8692f654add600867befd532a52")]
    [InlineData("""{"lib":"x","a":{"c":[1,{"e":2,"d":3}],"b":1}}""", "0dc3f8692f654add600867befd532a52")]
    [InlineData("""{"\u0061":1,"b":"caf\u00e9"}""", "21cddbe9923b03663edbab042559251c")]
    [InlineData("""{"é":1,"z":{"ü":true,"a":null}}""", "27000a8fd728bee7415cf087a38130df")]
    public void Content_identities_do_not_change_between_releases(string context, string eventId)
    {
        // Content-identified events are deduplicated across deploys only while the canonical form stays the same;
        // these ids were computed before the sorted-object fast path existed. Changing the form needs a new identity version.
        var json = Event(extra: $"\"context\":{context}");

        Assert.Equal(eventId, Assert.Single(Parse(json).Events).EventId);
    }

    [Fact]
    public void The_same_instant_in_another_zone_has_the_same_identity()
    {
        Assert.Equal(KeyOf(Event(timestamp: "2023-12-14T16:07:33Z")), KeyOf(Event(timestamp: "2023-12-14T17:07:33+01:00")));
    }

    [Fact]
    public void Different_content_has_a_different_identity()
    {
        var key = KeyOf(Event());

        Assert.NotEqual(key, KeyOf(Event(traits: """{"group_type":"Team","name":"Acme Inc"}""")));
        Assert.NotEqual(key, KeyOf(Event(timestamp: "2023-12-14T16:07:33.571126Z")));
        Assert.NotEqual(key, KeyOf(Event(userId: "u2")));
        Assert.NotEqual(key, KeyOf(Event(extra: "\"context\":{\"ip\":\"1.2.3.4\"}")));
    }

    [Fact]
    public void The_same_content_in_another_tenant_has_a_different_identity()
    {
        Assert.NotEqual(KeyOf(Event(), "acme"), KeyOf(Event(), "globex"));
    }

    [Fact]
    public void A_message_id_alone_decides_the_identity()
    {
        var first = KeyOf(Event(extra: "\"message_id\":\"m-1\""));

        Assert.Equal(first, KeyOf(Event(userId: "someone-else", extra: "\"messageId\":\"m-1\"")));
        Assert.NotEqual(first, KeyOf(Event(extra: "\"message_id\":\"m-2\"")));
    }

    [Fact]
    public void The_event_id_is_the_identity_in_hex()
    {
        var groupEvent = Assert.Single(Parse(Event()).Events);

        Assert.Equal(32, groupEvent.EventId.Length);
        Assert.Equal(groupEvent.Key, UInt128.Parse(groupEvent.EventId, System.Globalization.NumberStyles.HexNumber, null));
    }
}
