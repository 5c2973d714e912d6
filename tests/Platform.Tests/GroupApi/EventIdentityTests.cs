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
