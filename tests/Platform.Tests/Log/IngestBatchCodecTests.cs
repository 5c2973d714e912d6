using System.Buffers;
using Platform.Ingest.Events;
using Platform.Ingest.Log;
using Platform.Ingest.Storage;

namespace Platform.Tests.Log;

public sealed class IngestBatchCodecTests
{
    [Fact]
    public void Random_batches_decode_to_exactly_what_was_encoded()
    {
        var random = new Random(12);
        for (var round = 0; round < 500; round++)
        {
            var batch = LogTestData.Batch(random, random.Next(0, 20));
            LogTestData.AssertEqual(batch, RoundTrip(batch));
        }
    }

    [Fact]
    public void Nulls_empty_strings_and_non_ascii_survive()
    {
        var batch = new IngestBatch
        {
            Tenant = "テナント",
            ReceivedAtMicros = long.MinValue,
            Events =
            [
                new GroupEvent
                {
                    EventId = string.Empty,
                    Key = UInt128.MaxValue,
                    MessageId = string.Empty,
                    GroupId = "ü",
                    UserId = "🎉",
                    TimestampMicros = long.MaxValue,
                    GroupType = string.Empty,
                    Traits = [new TraitValue(string.Empty, null), new TraitValue("k", string.Empty), new TraitValue("名", "\"値\"")],
                    TraitsJson = string.Empty,
                    ContextJson = string.Empty,
                },
                new GroupEvent
                {
                    EventId = "e",
                    Key = UInt128.Zero,
                    GroupId = string.Empty,
                    UserId = string.Empty,
                    TimestampMicros = 0,
                    GroupType = "Account",
                    Traits = [],
                    TraitsJson = "{}",
                },
            ],
        };

        LogTestData.AssertEqual(batch, RoundTrip(batch));
    }

    [Fact]
    public void Strings_at_the_parsers_largest_sizes_survive()
    {
        var big = new string('é', 1024 * 1024); // 2 MB of UTF-8, the whole body cap in one value
        var traits = Enumerable.Range(0, 200).Select(i => new TraitValue($"trait{i:D3}", $"\"{new string('v', 32 * 1024 - 2)}\"")).ToArray();
        var batch = new IngestBatch
        {
            Tenant = new string('t', 256),
            ReceivedAtMicros = 1,
            Events =
            [
                new GroupEvent
                {
                    EventId = new string('0', 32),
                    Key = 0,
                    MessageId = new string('m', 256),
                    GroupId = new string('g', 256),
                    UserId = new string('u', 256),
                    TimestampMicros = 1,
                    GroupType = big,
                    Traits = traits,
                    TraitsJson = LogTestData.DerivedJson(traits),
                    ContextJson = big,
                },
            ],
        };

        LogTestData.AssertEqual(batch, RoundTrip(batch));
    }

    [Fact]
    public void A_parser_shaped_event_leaves_out_its_redundant_id_and_traits_json()
    {
        var traits = new[] { new TraitValue("group_type", "\"Account\""), new TraitValue("name", "\"Acme\"") };
        var compact = Encode(Batch(new string('0', 31) + "1", 1, traits, LogTestData.DerivedJson(traits)));
        var full = Encode(Batch(new string('z', 32), 1, traits, "{\"group_type\": \"Account\",\"name\":\"Acme\"}"));

        Assert.True(full.Length - compact.Length >= 32 + LogTestData.DerivedJson(traits).Length);
        LogTestData.AssertEqual(Batch(new string('0', 31) + "1", 1, traits, LogTestData.DerivedJson(traits)), IngestBatchCodec.Decode(compact));
    }

    [Fact]
    public void Traits_json_with_an_escaped_key_is_kept_as_written()
    {
        var traits = new[] { new TraitValue("a\"b", "1") };
        var batch = Batch(new string('0', 32), 0, traits, "{\"a\\\"b\":1}");

        LogTestData.AssertEqual(batch, RoundTrip(batch));
    }

    [Fact]
    public void An_unknown_version_is_reported_as_corruption()
    {
        var bytes = Encode(LogTestData.Batch(new Random(1), 2));
        bytes[0] = 2;

        var error = Assert.Throws<LogCorruptException>(() => IngestBatchCodec.Decode(bytes));
        Assert.Contains("version 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_or_mutated_bytes_throw_only_the_corruption_exception()
    {
        var random = new Random(7);
        for (var round = 0; round < 300; round++)
        {
            var bytes = Encode(LogTestData.Batch(random, random.Next(1, 5)));
            Assert.Throws<LogCorruptException>(() => IngestBatchCodec.Decode(bytes.AsSpan(0, random.Next(bytes.Length)).ToArray()));

            var mutated = (byte[])bytes.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }

            AssertDecodesOrReportsCorruption(mutated);
            var extended = bytes.Concat(new byte[] { 0 }).ToArray();
            Assert.Throws<LogCorruptException>(() => IngestBatchCodec.Decode(extended));
        }
    }

    [Fact]
    public void Huge_counts_in_a_small_record_are_refused_without_allocating_them()
    {
        // version, empty tenant, receivedAt, event count 2^32-1.
        byte[] bytes = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F];

        Assert.Throws<LogCorruptException>(() => IngestBatchCodec.Decode(bytes));
    }

    [Fact]
    public void Invalid_utf8_is_refused()
    {
        var bytes = Encode(new IngestBatch { Tenant = "ab", ReceivedAtMicros = 0, Events = [] });
        bytes[2] = 0xC3; // a lead byte followed by 'b'

        Assert.Throws<LogCorruptException>(() => IngestBatchCodec.Decode(bytes));
    }

    private static void AssertDecodesOrReportsCorruption(byte[] bytes)
    {
        try
        {
            IngestBatchCodec.Decode(bytes);
        }
        catch (LogCorruptException)
        {
        }
    }

    private static IngestBatch Batch(string eventId, UInt128 key, TraitValue[] traits, string traitsJson) => new()
    {
        Tenant = "t",
        ReceivedAtMicros = 5,
        Events =
        [
            new GroupEvent
            {
                EventId = eventId,
                Key = key,
                GroupId = "g",
                UserId = "u",
                TimestampMicros = 9,
                GroupType = "Account",
                Traits = traits,
                TraitsJson = traitsJson,
            },
        ],
    };

    private static byte[] Encode(IngestBatch batch)
    {
        var buffer = new ArrayBufferWriter<byte>();
        IngestBatchCodec.Encode(batch, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    private static IngestBatch RoundTrip(IngestBatch batch) => IngestBatchCodec.Decode(Encode(batch));
}
