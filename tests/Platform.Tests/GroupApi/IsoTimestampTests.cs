using System.Text;
using Platform.Ingest.GroupApi;

namespace Platform.Tests.GroupApi;

public sealed class IsoTimestampTests
{
    [Theory]
    [InlineData("2023-12-14T16:07:33Z", "2023-12-14T16:07:33.000000Z")]
    [InlineData("2023-12-14T16:07:33.5Z", "2023-12-14T16:07:33.500000Z")]
    [InlineData("2023-12-14T16:07:33.571125Z", "2023-12-14T16:07:33.571125Z")]
    [InlineData("2023-12-14T16:07:33.571125999Z", "2023-12-14T16:07:33.571125Z")]
    [InlineData("2023-12-14t16:07:33z", "2023-12-14T16:07:33.000000Z")]
    [InlineData("2023-12-14T18:07:33+02:00", "2023-12-14T16:07:33.000000Z")]
    [InlineData("2023-12-14T18:07:33+0200", "2023-12-14T16:07:33.000000Z")]
    [InlineData("2023-12-14T18:07:33+02", "2023-12-14T16:07:33.000000Z")]
    [InlineData("2023-12-14T11:37:33-04:30", "2023-12-14T16:07:33.000000Z")]
    [InlineData("2024-01-01T00:30:00+01:00", "2023-12-31T23:30:00.000000Z")]
    [InlineData("2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000000Z")]
    public void Valid_timestamps_normalise_to_UTC_microseconds(string input, string expected)
    {
        Assert.Null(IsoTimestamp.TryParse(Encoding.UTF8.GetBytes(input), out var micros));
        Assert.Equal(expected, IsoTimestamp.Format(micros));
    }

    [Theory]
    [InlineData("2023-12-14T16:07:33")]
    [InlineData("2023-12-14T16:07Z")]
    [InlineData("2023-12-14T16:07:33.Z")]
    [InlineData("2023-12-14T16:07:33.1234567890Z")]
    [InlineData("2023-12-14T24:00:00Z")]
    [InlineData("2023-12-14T16:60:00Z")]
    [InlineData("2023-02-29T16:07:33Z")]
    [InlineData("2023-13-01T16:07:33Z")]
    [InlineData("2023-12-14T16:07:33+2:00")]
    [InlineData("2023-12-14T16:07:33+02:00:00")]
    [InlineData("2023-12-14T16:07:33ZZ")]
    [InlineData("1969-12-31T23:59:59Z")]
    [InlineData("20231214T160733Z")]
    public void Invalid_timestamps_are_refused_with_a_reason(string input)
    {
        var problem = IsoTimestamp.TryParse(Encoding.UTF8.GetBytes(input), out _);

        Assert.False(string.IsNullOrEmpty(problem));
    }
}
