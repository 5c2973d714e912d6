using System.Text;
using Platform.Ingest.GroupApi;
using static Platform.Tests.GroupApi.ParserFixture;

namespace Platform.Tests.GroupApi;

/// <summary>
/// A timestamp ahead of the receive time (the fixture's clock, 2026-01-01T00:00:00Z) by more than
/// <c>GroupApi:MaxFutureSkew</c> (five minutes by default) is refused, so a client's fast clock cannot pin a trait.
/// </summary>
public sealed class FutureTimestampTests
{
    [Theory]
    [InlineData("2026-01-01T00:00:00Z")]
    [InlineData("2026-01-01T00:04:59.999999Z")]
    [InlineData("2026-01-01T00:05:00Z")]
    [InlineData("2026-01-01T02:05:00+02:00")]
    public void A_timestamp_up_to_five_minutes_ahead_is_accepted_unchanged(string timestamp)
    {
        var outcome = Parse(Event(timestamp: timestamp));

        Assert.True(outcome.IsValid, string.Join("; ", outcome.Errors));
        Assert.Null(IsoTimestamp.TryParse(Encoding.UTF8.GetBytes(timestamp), out var sent));
        Assert.Equal(sent, Assert.Single(outcome.Events).TimestampMicros);
    }

    [Fact]
    public void A_timestamp_a_microsecond_beyond_the_skew_is_refused_naming_the_field()
    {
        var error = Assert.Single(Parse(Event(timestamp: "2026-01-01T00:05:00.000001Z")).Errors);

        Assert.Equal((0, "timestamp"), (error.Index ?? -1, error.Field));
    }

    [Fact]
    public void The_refusal_says_how_far_ahead_the_timestamp_is_the_receive_time_and_the_allowed_skew()
    {
        var error = Assert.Single(Parse(Event(timestamp: "2026-01-01T01:00:00Z")).Errors);

        Assert.Contains("is 01:00:00 ahead of the receive time 2026-01-01T00:00:00.000000Z", error.Message, StringComparison.Ordinal);
        Assert.Contains("at most 00:05:00 is allowed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void One_event_ahead_makes_the_whole_batch_invalid()
    {
        var outcome = Parse(Batch(3, i => Event(userId: $"u{i}", timestamp: i == 1 ? "2026-01-02T00:00:00Z" : "2025-12-31T23:59:00Z")));

        var error = Assert.Single(outcome.Errors);
        Assert.Equal((1, "timestamp"), (error.Index ?? -1, error.Field));
        Assert.Empty(outcome.Events);
    }

    [Fact]
    public void The_setting_overrides_the_default()
    {
        Assert.True(Parse(Event(timestamp: "2026-01-01T00:59:59Z"), o => o.MaxFutureSkew = TimeSpan.FromHours(1)).IsValid);
        Assert.False(Parse(Event(timestamp: "2026-01-01T01:00:01Z"), o => o.MaxFutureSkew = TimeSpan.FromHours(1)).IsValid);
        Assert.True(Parse(Event(timestamp: "2026-01-01T00:00:00Z"), o => o.MaxFutureSkew = TimeSpan.Zero).IsValid);
        Assert.False(Parse(Event(timestamp: "2026-01-01T00:00:00.000001Z"), o => o.MaxFutureSkew = TimeSpan.Zero).IsValid);
    }

    [Fact]
    public void Old_timestamps_are_not_limited_by_the_skew()
    {
        Assert.True(Parse(Event(timestamp: "2000-01-01T00:00:00Z"), o => o.MaxFutureSkew = TimeSpan.Zero).IsValid);
    }
}
