using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Platform.Ingest.Events;
using Platform.Ingest.Storage;
using Platform.Perf.LoadGen.Bodies;

namespace Platform.Perf.LogBench;

/// <summary>
/// The records both logs are fed: the load generator's request bodies turned into the <see cref="IngestBatch"/> that
/// ingest's parser makes of them (id = the key in hex, traits sorted by key with minified values, the traits JSON
/// derived from them, the context kept), so the codec writes the bytes it writes in production.
/// </summary>
internal static class Batches
{
    public const string Tenant = "logbench";

    public static IngestBatch[] Make(int count, int eventsPerBatch)
    {
        var generator = new GroupEvents("logbench");
        var random = new Random(12);
        var batches = new IngestBatch[count];
        var numbers = new long[eventsPerBatch];
        var body = new ArrayBufferWriter<byte>(64 * 1024);
        for (var b = 0; b < count; b++)
        {
            for (var e = 0; e < eventsPerBatch; e++)
            {
                numbers[e] = ((long)b * eventsPerBatch) + e;
            }

            body.ResetWrittenCount();
            generator.WriteBody(body, numbers);
            using var json = JsonDocument.Parse(body.WrittenMemory);
            var events = new List<GroupEvent>(eventsPerBatch);
            foreach (var element in json.RootElement.EnumerateArray())
            {
                events.Add(Event(element, random));
            }

            batches[b] = new IngestBatch { Tenant = Tenant, ReceivedAtMicros = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000, Events = events };
        }

        return batches;
    }

    private static GroupEvent Event(JsonElement element, Random random)
    {
        Span<byte> keyBytes = stackalloc byte[16];
        random.NextBytes(keyBytes);
        var key = BinaryPrimitives.ReadUInt128BigEndian(keyBytes);
        var traits = element.GetProperty("traits").EnumerateObject()
            .Select(p => new TraitValue(p.Name, p.Value.GetRawText()))
            .OrderBy(t => t.Key, StringComparer.Ordinal)
            .ToArray();
        var traitsJson = new StringBuilder("{");
        foreach (var trait in traits)
        {
            traitsJson.Append(traitsJson.Length > 1 ? ",\"" : "\"").Append(trait.Key).Append("\":").Append(trait.Json);
        }

        return new GroupEvent
        {
            EventId = Convert.ToHexStringLower(keyBytes),
            Key = key,
            MessageId = element.GetProperty("message_id").GetString(),
            GroupId = element.GetProperty("group_id").GetString()!,
            UserId = element.GetProperty("user_id").GetString()!,
            TimestampMicros = (element.GetProperty("timestamp").GetDateTimeOffset().UtcTicks - DateTimeOffset.UnixEpoch.Ticks) / 10,
            GroupType = element.GetProperty("traits").GetProperty("group_type").GetString()!,
            Traits = traits,
            TraitsJson = traitsJson.Append('}').ToString(),
            ContextJson = element.GetProperty("context").GetRawText(),
        };
    }
}
