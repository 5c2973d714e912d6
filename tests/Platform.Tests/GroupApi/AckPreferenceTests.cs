using Microsoft.AspNetCore.Http;
using Platform.Ingest.GroupApi;
using Platform.Ingest.Writing;

namespace Platform.Tests.GroupApi;

public sealed class AckPreferenceTests
{
    [Theory]
    [InlineData("ack=queryable", "Queryable")]
    [InlineData("ACK=Queryable", "Queryable")]
    [InlineData("respond-async, ack=\"queryable\"", "Queryable")]
    [InlineData("ack=queryable; foo=bar", "Queryable")]
    [InlineData(" ack = durable ", "Durable")]
    [InlineData("ack=queryable, ack=durable", "Durable")]
    public void A_known_ack_preference_is_read(string prefer, string expected)
    {
        var headers = new HeaderDictionary { ["Prefer"] = prefer };

        Assert.Equal(Enum.Parse<AckMode>(expected), AckPreference.Read(headers));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("return=minimal")]
    [InlineData("ack=eventually")]
    [InlineData("ack")]
    [InlineData("xack=queryable")]
    public void No_or_an_unknown_preference_leaves_the_deployment_default(string? prefer)
    {
        var headers = new HeaderDictionary();
        if (prefer is not null)
        {
            headers["Prefer"] = prefer;
        }

        Assert.Null(AckPreference.Read(headers));
    }
}
