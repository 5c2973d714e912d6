using Microsoft.Extensions.Options;

namespace Platform.Tests.Integration;

/// <summary>A wrong setting stops ingest at start with a message naming the full key.</summary>
public sealed class SettingsValidationTests
{
    private static string StartFailureMessage(Dictionary<string, string?> settings)
    {
        var error = StartFailure.Of(() => new IngestHost(settings));

        var validation = error as OptionsValidationException ?? error.InnerException as OptionsValidationException;
        Assert.True(validation is not null, error.ToString());
        return validation.Message;
    }

    [Theory]
    [InlineData("GroupApi:MaxEventsPerRequest", "0")]
    [InlineData("GroupApi:MaxFutureSkew", "-00:00:01")]
    [InlineData("GroupApi:MaxFutureSkew", "01:00:01")]
    [InlineData("Writer:MaxQueuedEvents", "10")]
    [InlineData("Dedup:Window", "00:00:00")]
    [InlineData("Dedup:Redis:PollInterval", "00:00:06")]
    [InlineData("Query:MaxPageSize", "0")]
    [InlineData("Telemetry:MetricsPath", "metrics")]
    [InlineData("Log:Directory", " ")]
    [InlineData("Log:SegmentBytes", "100")]
    [InlineData("Storage:ClickHouse:Database", "plat-form")]
    [InlineData("Auth:Audiences:1", " ")]
    public void A_bad_value_stops_the_service_naming_its_key(string key, string value)
    {
        Assert.Contains(key, StartFailureMessage(new() { [key] = value }), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Storage:Backend", "Postgres", "Storage:Backend must be one of DuckDb, ClickHouse (got 'Postgres')")]
    [InlineData("Storage:Backend", "1", "Storage:Backend must be one of DuckDb, ClickHouse (got '1')")]
    [InlineData("Dedup:Backend", "Memcached", "Dedup:Backend must be one of InMemory, Redis (got 'Memcached')")]
    [InlineData("Dedup:Redis:OnUnavailable", "Ignore", "Dedup:Redis:OnUnavailable must be one of StorageBackstop, Reject (got 'Ignore')")]
    [InlineData("Writer:Ack", "Eventually", "Writer:Ack must be one of Durable, Queryable (got 'Eventually')")]
    public void A_name_that_is_not_a_choice_stops_the_service_listing_the_choices(string key, string value, string expected)
    {
        Assert.Contains(expected, StartFailureMessage(new() { [key] = value }), StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_of_the_wrong_type_stops_the_service_naming_its_key()
    {
        Assert.Contains("'Query:MaxTop'", StartFailureMessage(new() { ["Query:MaxTop"] = "ten" }), StringComparison.Ordinal);
    }

    [Fact]
    public void A_nested_setting_is_named_by_its_full_key()
    {
        var message = StartFailureMessage(new() { ["Dedup:Redis:ConnectTimeout"] = "00:05:00" });

        Assert.Contains("The field Dedup:Redis:ConnectTimeout must be between", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_write_queue_smaller_than_the_largest_request_stops_the_service()
    {
        // A request is never split: one larger than the queue could never be stored, and would get 503 forever.
        var message = StartFailureMessage(new() { ["GroupApi:MaxEventsPerRequest"] = "5000", ["Writer:MaxQueuedEvents"] = "4000" });

        Assert.Contains("Writer:MaxQueuedEvents (4000) must be at least GroupApi:MaxEventsPerRequest (5000)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_first_retry_delay_above_its_cap_stops_the_service()
    {
        var message = StartFailureMessage(new() { ["Shipper:RetryDelay"] = "00:00:10", ["Shipper:MaxRetryDelay"] = "00:00:05" });

        Assert.Contains("Shipper:RetryDelay (00:00:10) must not exceed Shipper:MaxRetryDelay (00:00:05)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dedup_reservation_shorter_than_the_writers_insert_timeout_stops_the_service()
    {
        // A request still waiting for its insert would lose its reservations to a retry: two writers of one event.
        var message = StartFailureMessage(new()
        {
            ["Dedup:Backend"] = "Redis",
            ["Dedup:Redis:ConnectionString"] = "127.0.0.1:1",
            ["Dedup:Redis:ReservationTtl"] = "00:00:20",
            ["Writer:InsertTimeout"] = "00:00:30",
        });

        Assert.Contains("Dedup:Redis:ReservationTtl (00:00:20) must exceed Writer:InsertTimeout", message, StringComparison.Ordinal);
    }
}
