using System.Buffers;
using Platform.Ingest.Events;
using Platform.Ingest.Log;
using Platform.Ingest.Storage;
using Platform.Ingest.Storage.ClickHouse;
using Platform.Tests.Log;

namespace Platform.Tests.Storage.ClickHouse;

/// <summary>
/// The shipper writes ClickHouse rows from the log's encoded records; the store writes them from events. For the same
/// batches both must be the same bytes, or the log would store something other than what was acked. (Decoding walks
/// the record with the same reader, so the two also refuse the same damaged records.)
/// </summary>
public sealed class EncodedRowsTests
{
    [Fact]
    public void Rows_from_encoded_records_are_the_bytes_written_from_the_decoded_batches()
    {
        var random = new Random(2024);
        for (var round = 0; round < 200; round++)
        {
            var batches = Enumerable.Range(0, random.Next(1, 6))
                .Select(_ => Storable(LogTestData.Batch(random, random.Next(0, 12), tenant: random.Next(3) == 0 ? "same" : null)))
                .ToList();
            // Repeats, within a record and across records of one tenant: the first occurrence wins on both paths.
            if (batches[0].Events.Count > 0)
            {
                var first = batches[0];
                batches.Add(new IngestBatch { Tenant = first.Tenant, ReceivedAtMicros = 1, Events = [first.Events[0], .. first.Events] });
            }

            var expectedStates = new PendingTraitStates();
            var encodedStates = new PendingTraitStates();
            using var expected = ClickHouseEventStore.WriteRows(batches, expectedStates);
            using var encoded = new EncodedRows(16, encodedStates);
            var events = 0;
            foreach (var batch in batches)
            {
                events += encoded.Add(Encode(batch));
            }

            Assert.Equal(batches.Sum(b => b.Events.Count), events);
            Assert.True(expected.WrittenSpan.SequenceEqual(encoded.Rows.WrittenSpan), $"round {round}: the rows differ");
            using var expectedStateRows = expectedStates.Write();
            using var encodedStateRows = encodedStates.Write();
            Assert.Equal(expectedStates.Count, encodedStates.Count);
            Assert.True(expectedStateRows.WrittenSpan.SequenceEqual(encodedStateRows.WrittenSpan), $"round {round}: the state rows differ");
        }
    }

    [Fact]
    public void A_time_before_1970_stops_the_rows_as_damage_rather_than_wrapping_around()
    {
        var batch = Storable(LogTestData.Batch(new Random(3), 1));
        var bytes = Encode(new IngestBatch { Tenant = batch.Tenant, ReceivedAtMicros = -1, Events = batch.Events });
        using var rows = new EncodedRows(1, new PendingTraitStates());

        Assert.Throws<LogCorruptException>(() => rows.Add(bytes));
    }

    /// <summary>Times as the parser allows them (from 1970 on), since storage keeps them unsigned.</summary>
    private static IngestBatch Storable(IngestBatch batch) => new()
    {
        Tenant = batch.Tenant,
        ReceivedAtMicros = Math.Abs(batch.ReceivedAtMicros % 4_000_000_000_000_000),
        Events = [.. batch.Events.Select(e => new GroupEvent
        {
            EventId = e.EventId,
            Key = e.Key,
            MessageId = e.MessageId,
            GroupId = e.GroupId,
            UserId = e.UserId,
            TimestampMicros = Math.Abs(e.TimestampMicros % 4_000_000_000_000_000),
            GroupType = e.GroupType,
            Traits = e.Traits,
            TraitsJson = e.TraitsJson,
            ContextJson = e.ContextJson,
        })],
    };

    private static byte[] Encode(IngestBatch batch)
    {
        var buffer = new ArrayBufferWriter<byte>();
        IngestBatchCodec.Encode(batch, buffer);
        return buffer.WrittenSpan.ToArray();
    }
}
