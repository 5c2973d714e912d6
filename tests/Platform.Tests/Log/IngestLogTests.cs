using Platform.Ingest.Log;
using Platform.Ingest.Storage;

namespace Platform.Tests.Log;

public sealed class IngestLogTests : IDisposable
{
    private const long MiB = 1L << 20;
    private readonly TempLogDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Appended_batches_are_read_back_in_order_with_their_positions()
    {
        var batches = Batches(seed: 1, count: 20);
        await using var log = Open();
        var positions = new List<LogPosition>();
        foreach (var batch in batches)
        {
            positions.Add(await log.AppendAsync(batch));
        }

        var records = ReadAll(log, LogPosition.Start);

        Assert.Equal(batches.Count, records.Count);
        for (var i = 0; i < batches.Count; i++)
        {
            LogTestData.AssertEqual(batches[i], records[i].Batch);
            Assert.Equal(positions[i], records[i].Next);
            Assert.Equal(i + 1, records[i].Next.Sequence);
            Assert.Equal(i == 0 ? LogPosition.Start : positions[i - 1], records[i].Position);
        }

        Assert.Equal(positions[^1], log.DurableEnd);
        Assert.Equal(20, log.UnshippedRecords);
        Assert.Equal(positions[^1].Offset, log.UnshippedBytes);
    }

    [Fact]
    public async Task Concurrent_appends_are_all_durable_and_share_fsyncs()
    {
        var batches = Batches(seed: 2, count: 400, events: 3);
        await using var log = Open();

        // Each append is queued before AppendAsync returns, so the writer finds many waiting for one commit.
        var appends = batches.Select(batch => log.AppendAsync(batch).AsTask()).ToArray();
        var positions = await Task.WhenAll(appends);

        Assert.True(log.FlushCount < batches.Count, $"{log.FlushCount} fsyncs for {batches.Count} appends");
        Assert.Equal(batches.Count, positions.Distinct().Count());
        var records = ReadAll(log, LogPosition.Start);
        Assert.Equal(batches.Count, records.Count);
        var byEnd = positions.Select((position, index) => (position, index)).ToDictionary(p => p.position, p => p.index);
        foreach (var record in records)
        {
            // Every record is the batch whose append completed with the record's end position.
            LogTestData.AssertEqual(batches[byEnd[record.Next]], record.Batch);
        }
    }

    [Fact]
    public async Task Reopening_replays_from_the_checkpoint()
    {
        var batches = Batches(seed: 3, count: 10);
        LogPosition shipped;
        await using (var log = Open())
        {
            foreach (var batch in batches)
            {
                await log.AppendAsync(batch);
            }

            shipped = ReadAll(log, LogPosition.Start)[3].Next;
            await log.MarkShippedAsync(shipped);
        }

        await using var reopened = Open();

        Assert.Equal(shipped, reopened.Shipped);
        Assert.Equal(6, reopened.UnshippedRecords);
        Assert.NotNull(reopened.OldestUnshippedAppendedAtMicros);
        var replayed = ReadAll(reopened, reopened.Shipped);
        Assert.Equal(6, replayed.Count);
        for (var i = 0; i < 6; i++)
        {
            LogTestData.AssertEqual(batches[4 + i], replayed[i].Batch);
        }

        // Appends go on after the replayed records.
        var next = await reopened.AppendAsync(batches[0]);
        Assert.Equal(11, next.Sequence);
    }

    [Fact]
    public async Task A_torn_tail_is_cut_off_and_every_complete_record_recovered()
    {
        var batches = Batches(seed: 4, count: 5);
        await AppendAllAsync(batches);
        var segment = _directory.Segments().Single();
        using (var file = File.Open(segment, FileMode.Open))
        {
            file.SetLength(file.Length - 7);
        }

        await using var log = Open();

        var records = ReadAll(log, LogPosition.Start);
        Assert.Equal(4, records.Count);
        LogTestData.AssertEqual(batches[3], records[3].Batch);
        Assert.Equal(records[3].Next, log.DurableEnd);
        // The cut is durable and the log appends right after the last complete record.
        var position = await log.AppendAsync(batches[4]);
        Assert.Equal(5, position.Sequence);
        Assert.Equal(5, ReadAll(log, LogPosition.Start).Count);
    }

    [Fact]
    public async Task Garbage_after_the_last_record_is_cut_off()
    {
        var batches = Batches(seed: 5, count: 3);
        await AppendAllAsync(batches);
        var segment = _directory.Segments().Single();
        var lengthBefore = new FileInfo(segment).Length;
        await File.AppendAllTextAsync(segment, "half a record of garbage, and zeros\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");

        await using var log = Open();

        Assert.Equal(3, ReadAll(log, LogPosition.Start).Count);
        Assert.Equal(lengthBefore, new FileInfo(segment).Length);
    }

    [Fact]
    public async Task Damage_in_an_older_segment_fails_the_open_loudly()
    {
        await AppendAllAsync(Batches(seed: 6, count: 30, events: 20), segmentBytes: 64 * 1024);
        var segments = _directory.Segments();
        Assert.True(segments.Length >= 3, $"{segments.Length} segments");
        FlipByte(segments[0], 16 + 100);

        var error = Assert.Throws<LogCorruptException>(() => Open(segmentBytes: 64 * 1024));

        Assert.Contains(Path.GetFileName(segments[0]), error.Message, StringComparison.Ordinal);
        Assert.Contains("not the last segment", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Damage_followed_by_later_commits_in_the_last_segment_fails_the_open()
    {
        // Five separate commits (each append awaited), then the first record damaged: acknowledged records follow it.
        await AppendAllAsync(Batches(seed: 7, count: 5));
        var segment = _directory.Segments().Single();
        FlipByte(segment, 16 + 40);

        var error = Assert.Throws<LogCorruptException>(() => Open());

        Assert.Contains("intact records of other commits follow", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_damaged_checkpoint_fails_the_open()
    {
        await using (var log = Open())
        {
            var position = await log.AppendAsync(Batches(seed: 8, count: 1)[0]);
            await log.MarkShippedAsync(position);
        }

        FlipByte(Path.Combine(_directory.Path, LogCheckpoint.FileName), 9);

        var error = Assert.Throws<LogCorruptException>(() => Open());
        Assert.Contains("checkpoint", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_full_log_refuses_appends_until_records_are_shipped()
    {
        var batch = LogTestData.Batch(new Random(9), 200);
        await using var log = Open(maxBytes: MiB, segmentBytes: 256 * 1024);
        var positions = new List<LogPosition>();
        while (true)
        {
            try
            {
                positions.Add(await log.AppendAsync(batch));
            }
            catch (LogFullException)
            {
                break;
            }
        }

        Assert.True(positions.Count > 2);
        Assert.True(log.UsedBytes <= MiB);
        Assert.Equal(positions[^1].Offset, log.UnshippedBytes);
        await Assert.ThrowsAsync<LogFullException>(async () => await log.AppendAsync(batch));

        await log.MarkShippedAsync(positions[1]);

        Assert.Equal(positions[^1].Offset - positions[1].Offset, log.UnshippedBytes);
        var accepted = await log.AppendAsync(batch);
        Assert.Equal(positions.Count + 1, accepted.Sequence);
    }

    [Fact]
    public async Task Segments_roll_at_their_size_and_shipped_ones_are_deleted()
    {
        var batches = Batches(seed: 10, count: 40, events: 20);
        await using var log = Open(segmentBytes: 64 * 1024);
        foreach (var batch in batches)
        {
            await log.AppendAsync(batch);
        }

        var segments = _directory.Segments();
        Assert.True(segments.Length >= 4, $"{segments.Length} segments");
        Assert.All(segments[..^1], path => Assert.True(new FileInfo(path).Length <= 16 + (64 * 1024) || RecordsIn(path) == 1));
        var records = ReadAll(log, LogPosition.Start);
        Assert.Equal(batches.Count, records.Count);

        // Ship up to a record in the middle of the third segment: the first two go, the rest stay readable.
        var secondEnd = LogFormat.TryParseSegmentFileName(Path.GetFileName(segments[2]), out var thirdFirst) ? thirdFirst : -1;
        var upTo = records.First(r => r.Position.Offset > secondEnd).Next;
        await log.MarkShippedAsync(upTo);

        Assert.Equal(segments[2..], _directory.Segments());
        Assert.Equal(records.Count(r => r.Position >= upTo), ReadAll(log, log.Shipped).Count);

        // Everything shipped: every segment but the one being written is gone, and nothing is unshipped.
        await log.MarkShippedAsync(records[^1].Next);
        Assert.Single(_directory.Segments());
        Assert.Equal(0, log.UnshippedBytes);
        Assert.Null(log.OldestUnshippedAppendedAtMicros);
    }

    [Fact]
    public async Task A_reader_waits_for_new_records_and_times_out_without_them()
    {
        await using var log = Open();
        using var reader = log.OpenReader(LogPosition.Start);

        Assert.False(reader.TryRead(out _));
        Assert.False(await reader.WaitToReadAsync(TimeSpan.FromMilliseconds(20)));

        var waiting = reader.WaitToReadAsync(TimeSpan.FromMinutes(1)).AsTask();
        var batch = Batches(seed: 11, count: 1)[0];
        var position = await log.AppendAsync(batch);

        Assert.True(await waiting);
        Assert.True(reader.TryRead(out var record));
        LogTestData.AssertEqual(batch, record.Batch);
        Assert.Equal(position, reader.Position);
        Assert.False(reader.TryRead(out _));
    }

    [Fact]
    public async Task A_reader_follows_the_writer_into_new_segments()
    {
        var batches = Batches(seed: 12, count: 30, events: 20);
        await using var log = Open(segmentBytes: 64 * 1024);
        using var reader = log.OpenReader(LogPosition.Start);
        foreach (var batch in batches)
        {
            await log.AppendAsync(batch);
            Assert.True(reader.TryRead(out var record));
            LogTestData.AssertEqual(batch, record.Batch);
        }

        Assert.True(_directory.Segments().Length >= 3);
    }

    [Fact]
    public async Task A_reader_sees_nothing_past_the_durable_end()
    {
        await using var log = Open();
        await log.AppendAsync(Batches(seed: 13, count: 1)[0]);
        // Bytes past the durable end (as a write in progress would leave them) are not records yet.
        var segment = _directory.Segments().Single();
        await File.AppendAllTextAsync(segment, new string('x', 200));
        using var reader = log.OpenReader(LogPosition.Start);

        Assert.True(reader.TryRead(out _));
        Assert.False(reader.TryRead(out _));
        Assert.False(await reader.WaitToReadAsync(TimeSpan.FromMilliseconds(10)));
    }

    [Fact]
    public async Task A_copy_taken_mid_append_recovers_every_append_acknowledged_before_it()
    {
        // A crash, simulated: the files copied at an arbitrary moment while appends run, as a power cut would leave them
        // (a copy sees any prefix of each write, like a disk that persisted part of a commit).
        var batches = Batches(seed: 14, count: 300, events: 10);
        var copy = new TempLogDirectory();
        try
        {
            await using var log = Open(segmentBytes: 128 * 1024);
            var acked = 0;
            var appending = Task.Run(async () =>
            {
                foreach (var group in batches.Chunk(10))
                {
                    await Task.WhenAll(group.Select(b => log.AppendAsync(b).AsTask()));
                    Interlocked.Add(ref acked, group.Length);
                }
            });
            while (Volatile.Read(ref acked) < 100)
            {
                await Task.Delay(1);
            }

            var ackedBeforeCopy = Volatile.Read(ref acked);
            Directory.CreateDirectory(copy.Path);
            foreach (var file in Directory.GetFiles(_directory.Path))
            {
                File.Copy(file, Path.Combine(copy.Path, Path.GetFileName(file)));
            }

            await appending;

            await using var recovered = IngestLog.Open(copy.Path, 64 * MiB, 128 * 1024);
            var records = ReadAll(recovered, LogPosition.Start);
            Assert.True(records.Count >= ackedBeforeCopy, $"{records.Count} records recovered, {ackedBeforeCopy} acknowledged before the copy");
            var original = ReadAll(log, LogPosition.Start);
            for (var i = 0; i < records.Count; i++)
            {
                LogTestData.AssertEqual(original[i].Batch, records[i].Batch);
            }
        }
        finally
        {
            copy.Dispose();
        }
    }

    [Fact]
    public async Task Dispose_writes_and_acknowledges_what_was_queued_then_refuses_appends()
    {
        var batches = Batches(seed: 15, count: 50);
        var log = Open();
        var appends = batches.Select(b => log.AppendAsync(b).AsTask()).ToArray();

        await log.DisposeAsync();

        var positions = await Task.WhenAll(appends);
        Assert.Equal(50, positions.Max().Sequence);
        await Assert.ThrowsAsync<LogWriteException>(async () => await log.AppendAsync(batches[0]));
        await using var reopened = Open();
        Assert.Equal(50, ReadAll(reopened, LogPosition.Start).Count);
    }

    [Fact]
    public void Options_refuse_a_segment_larger_than_the_budget()
    {
        var result = new IngestLogOptionsRules().Validate(null, new IngestLogOptions { MaxBytes = 64 * MiB, SegmentBytes = 128 * MiB });

        Assert.True(result.Failed);
        Assert.Contains("Log:SegmentBytes", result.FailureMessage, StringComparison.Ordinal);
    }

    private IngestLog Open(long maxBytes = 64 * MiB, long segmentBytes = 4 * MiB) =>
        IngestLog.Open(_directory.Path, maxBytes, segmentBytes);

    private async Task AppendAllAsync(List<IngestBatch> batches, long segmentBytes = 4 * MiB)
    {
        await using var log = Open(segmentBytes: segmentBytes);
        foreach (var batch in batches)
        {
            await log.AppendAsync(batch);
        }
    }

    private static List<IngestBatch> Batches(int seed, int count, int events = 5)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => LogTestData.Batch(random, events))];
    }

    private static List<LogRecord> ReadAll(IngestLog log, LogPosition from)
    {
        using var reader = log.OpenReader(from);
        var records = new List<LogRecord>();
        while (reader.TryRead(out var record))
        {
            records.Add(record);
        }

        return records;
    }

    private static int RecordsIn(string segment)
    {
        var bytes = File.ReadAllBytes(segment);
        var count = 0;
        for (var at = LogFormat.SegmentHeaderSize; at < bytes.Length; count++)
        {
            Assert.True(LogFormat.TryReadFrameHeader(bytes.AsSpan(at), out var frame));
            at += frame.FrameLength;
        }

        return count;
    }

    private static void FlipByte(string path, long offset)
    {
        using var file = File.Open(path, FileMode.Open);
        file.Position = offset;
        var value = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(value ^ 0x5A));
    }
}
