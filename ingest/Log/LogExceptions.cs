namespace Platform.Ingest.Log;

/// <summary>
/// Bytes read from the log are not what was written: a bad checksum, an impossible length, a record cut short or
/// garbage where a record should be. Nothing else is thrown for bad bytes, so a caller can tell damage from a bug.
/// </summary>
internal sealed class LogCorruptException : Exception
{
    public LogCorruptException(string message)
        : base(message)
    {
    }

    public LogCorruptException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// The log holds <see cref="IngestLogOptions.MaxBytes"/> of unshipped data; the append is refused before anything was
/// written. The caller answers 503 with Retry-After and releases its dedup reservations.
/// </summary>
internal sealed class LogFullException(long unshippedBytes, long maxBytes)
    : Exception($"the write-ahead log is full: {unshippedBytes} bytes unshipped, at most {maxBytes} allowed (Log:MaxBytes)");

/// <summary>
/// Writing or fsyncing the log failed; the append is not durable and must not be acknowledged. The log has put its
/// files back as they were before the failed write (or refuses every later append when it could not).
/// </summary>
internal sealed class LogWriteException : Exception
{
    public LogWriteException(string message)
        : base(message)
    {
    }

    public LogWriteException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
