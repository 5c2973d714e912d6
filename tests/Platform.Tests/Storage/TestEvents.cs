using System.Globalization;
using System.Text;
using Platform.Ingest.Events;
using Platform.Ingest.Storage;

namespace Platform.Tests.Storage;

/// <summary>Builds the parser's output by hand: events with readable ids, times and traits.</summary>
internal static class TestEvents
{
    /// <summary>2023-11-14T22:13:20Z, with a microsecond part so that truncation would show.</summary>
    public const long BaseMicros = 1_700_000_000_000_001;

    public const long ReceivedMicros = 1_700_000_100_000_000;

    /// <summary>A 32-hex-character event id whose ordinal order is the order of <paramref name="n"/>.</summary>
    public static string Id(int n) => n.ToString("x32", CultureInfo.InvariantCulture);

    public static long At(int seconds) => BaseMicros + (seconds * 1_000_000L);

    public static TraitValue Trait(string key, string? json) => new(key, json);

    public static GroupEvent Event(
        int id,
        string groupId = "acme",
        string userId = "alice",
        long? micros = null,
        string? messageId = null,
        string? contextJson = null,
        params TraitValue[] traits)
    {
        var eventId = Id(id);
        var sorted = traits.OrderBy(t => t.Key, StringComparer.Ordinal).ToArray();
        return new GroupEvent
        {
            EventId = eventId,
            Key = UInt128.Parse(eventId, NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            MessageId = messageId,
            GroupId = groupId,
            UserId = userId,
            TimestampMicros = micros ?? BaseMicros,
            GroupType = "company",
            Traits = sorted,
            TraitsJson = ToJsonObject(sorted),
            ContextJson = contextJson,
        };
    }

    public static IngestBatch Batch(string tenant, params GroupEvent[] events) =>
        new() { Tenant = tenant, Events = events, ReceivedAtMicros = ReceivedMicros };

    private static string ToJsonObject(TraitValue[] traits)
    {
        var json = new StringBuilder("{");
        foreach (var trait in traits)
        {
            if (json.Length > 1)
            {
                json.Append(',');
            }

            json.Append('"').Append(trait.Key).Append("\":").Append(trait.Json ?? "null");
        }

        return json.Append('}').ToString();
    }
}
