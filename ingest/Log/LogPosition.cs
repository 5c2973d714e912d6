using Platform.Ingest.Storage;

namespace Platform.Ingest.Log;

/// <summary>
/// A place in the log between two records: <see cref="Offset"/> counts the record bytes (frames) written before it
/// since the log was created, <see cref="Sequence"/> the records. Both only grow; positions compare by offset.
/// </summary>
internal readonly record struct LogPosition(long Offset, long Sequence) : IComparable<LogPosition>
{
    public static LogPosition Start => default;

    public int CompareTo(LogPosition other) => Offset.CompareTo(other.Offset);

    public static bool operator <(LogPosition left, LogPosition right) => left.Offset < right.Offset;

    public static bool operator >(LogPosition left, LogPosition right) => left.Offset > right.Offset;

    public static bool operator <=(LogPosition left, LogPosition right) => left.Offset <= right.Offset;

    public static bool operator >=(LogPosition left, LogPosition right) => left.Offset >= right.Offset;

    public override string ToString() => $"{Offset}#{Sequence}";
}

/// <summary>
/// One durable record read back from the log: the batch, where it starts, where the next one starts (the position to
/// pass to <see cref="IngestLog.MarkShippedAsync"/> once it is shipped), and when it was appended.
/// </summary>
internal sealed class LogRecord(IngestBatch batch, LogPosition position, LogPosition next, long appendedAtMicros)
{
    public IngestBatch Batch { get; } = batch;

    public LogPosition Position { get; } = position;

    public LogPosition Next { get; } = next;

    /// <summary>When the group commit holding this record was written, microseconds since the Unix epoch.</summary>
    public long AppendedAtMicros { get; } = appendedAtMicros;
}
