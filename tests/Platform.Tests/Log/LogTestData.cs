using System.Buffers.Binary;
using System.Text;
using Platform.Ingest.Events;
using Platform.Ingest.Storage;

namespace Platform.Tests.Log;

/// <summary>Random batches for the log's tests, and a field-by-field comparison of batches.</summary>
internal static class LogTestData
{
    private static readonly string[] Samples =
    [
        string.Empty, "a", "acme-inc", "Ünïcödé", "日本語のグループ", "emoji 🎉🚀", "quote \" backslash \\", "tab\tnewline\n",
        "{\"nested\":[1,2,{\"x\":null}]}", "\u0001control", new string('x', 300),
    ];

    public static IngestBatch Batch(Random random, int events, string? tenant = null)
    {
        var list = new GroupEvent[events];
        for (var i = 0; i < events; i++)
        {
            list[i] = Event(random);
        }

        return new IngestBatch
        {
            Tenant = tenant ?? Text(random),
            ReceivedAtMicros = random.NextInt64(),
            Events = list,
        };
    }

    public static GroupEvent Event(Random random)
    {
        Span<byte> keyBytes = stackalloc byte[16];
        random.NextBytes(keyBytes);
        var key = BinaryPrimitives.ReadUInt128BigEndian(keyBytes);
        var traits = new TraitValue[random.Next(0, 8)];
        for (var t = 0; t < traits.Length; t++)
        {
            traits[t] = new TraitValue(Text(random), random.Next(4) == 0 ? null : Text(random));
        }

        // Mostly the parser's shapes (id = key hex, traits JSON built from the traits), sometimes anything at all.
        var canonicalId = random.Next(4) != 0;
        var derivedTraits = random.Next(4) != 0;
        return new GroupEvent
        {
            EventId = canonicalId ? Convert.ToHexStringLower(keyBytes) : Text(random),
            Key = key,
            MessageId = random.Next(2) == 0 ? null : Text(random),
            GroupId = Text(random),
            UserId = Text(random),
            TimestampMicros = random.NextInt64(long.MinValue, long.MaxValue),
            GroupType = Text(random),
            Traits = traits,
            TraitsJson = derivedTraits ? DerivedJson(traits) : Text(random),
            ContextJson = random.Next(3) == 0 ? null : Text(random),
        };
    }

    /// <summary>A string from the samples, or random text of valid Unicode (any plane, no lone surrogates).</summary>
    public static string Text(Random random)
    {
        if (random.Next(2) == 0)
        {
            return Samples[random.Next(Samples.Length)];
        }

        var text = new StringBuilder();
        var length = random.Next(0, 40);
        for (var i = 0; i < length; i++)
        {
            int codePoint;
            do
            {
                codePoint = random.Next(4) switch
                {
                    0 => random.Next(0, 0x80),
                    1 => random.Next(0x80, 0x800),
                    2 => random.Next(0x800, 0x10000),
                    _ => random.Next(0x10000, 0x110000),
                };
            }
            while (codePoint is >= 0xD800 and <= 0xDFFF);
            text.Append(char.ConvertFromUtf32(codePoint));
        }

        return text.ToString();
    }

    public static string DerivedJson(TraitValue[] traits) =>
        "{" + string.Join(",", traits.Select(t => $"\"{t.Key}\":{t.Json ?? "null"}")) + "}";

    public static void AssertEqual(IngestBatch expected, IngestBatch actual)
    {
        Assert.Equal(expected.Tenant, actual.Tenant);
        Assert.Equal(expected.ReceivedAtMicros, actual.ReceivedAtMicros);
        Assert.Equal(expected.Events.Count, actual.Events.Count);
        for (var i = 0; i < expected.Events.Count; i++)
        {
            var e = expected.Events[i];
            var a = actual.Events[i];
            Assert.Equal(e.EventId, a.EventId);
            Assert.Equal(e.Key, a.Key);
            Assert.Equal(e.MessageId, a.MessageId);
            Assert.Equal(e.GroupId, a.GroupId);
            Assert.Equal(e.UserId, a.UserId);
            Assert.Equal(e.TimestampMicros, a.TimestampMicros);
            Assert.Equal(e.GroupType, a.GroupType);
            Assert.Equal(e.Traits, a.Traits);
            Assert.Equal(e.TraitsJson, a.TraitsJson);
            Assert.Equal(e.ContextJson, a.ContextJson);
        }
    }
}

/// <summary>A fresh directory under the system's temp folder, deleted with everything in it afterwards.</summary>
internal sealed class TempLogDirectory : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "platform-log-" + Guid.NewGuid().ToString("N"));

    public string[] Segments() =>
        Directory.Exists(Path) ? [.. Directory.GetFiles(Path, "*.seg").Order(StringComparer.Ordinal)] : [];

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
