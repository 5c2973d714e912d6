using Microsoft.Extensions.Options;

namespace Platform.Tests.Integration;

/// <summary>A wrong setting stops ingest at start with a message naming the full key.</summary>
public sealed class SettingsValidationTests
{
    [Theory]
    [InlineData("GroupApi:MaxEventsPerRequest", "0")]
    [InlineData("GroupApi:MaxFutureSkew", "-00:00:01")]
    [InlineData("GroupApi:MaxFutureSkew", "01:00:01")]
    [InlineData("Writer:MaxQueuedEvents", "10")]
    [InlineData("Dedup:Window", "00:00:00")]
    [InlineData("Query:MaxPageSize", "0")]
    [InlineData("Telemetry:MetricsPath", "metrics")]
    public void A_bad_value_stops_the_service_naming_its_key(string key, string value)
    {
        var error = StartFailure.Of(() => new IngestHost(new Dictionary<string, string?> { [key] = value }));

        var validation = error as OptionsValidationException ?? error.InnerException as OptionsValidationException;
        Assert.NotNull(validation);
        Assert.Contains(key, validation.Message, StringComparison.Ordinal);
    }
}
