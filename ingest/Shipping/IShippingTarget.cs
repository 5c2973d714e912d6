namespace Platform.Ingest.Shipping;

/// <summary>
/// The storage the shipper loads the write-ahead log into, taking records as they are encoded: a block is filled from
/// the records' bytes and inserted whole, so no event is rebuilt as objects between the log and the insert.
/// </summary>
internal interface IShippingTarget
{
    /// <summary>An empty block sized for about <paramref name="events"/> events.</summary>
    IShippingBlock NewBlock(int events);

    /// <summary>Inserts the block's events; throws unless storage confirmed it. May be called again for the same block after a failure.</summary>
    Task InsertAsync(IShippingBlock block, CancellationToken cancellationToken);

    /// <summary>
    /// Rows of derived state (the current traits) gathered from the blocks filled since the last
    /// <see cref="FlushStatesAsync"/>, not yet in storage. The log's checkpoint may not pass a block until they are.
    /// </summary>
    int PendingStates { get; }

    /// <summary>Writes the pending state rows; throws unless storage confirmed them. May be called again after a failure.</summary>
    Task FlushStatesAsync(CancellationToken cancellationToken);
}

/// <summary>One insert's worth of log records.</summary>
internal interface IShippingBlock : IDisposable
{
    /// <summary>
    /// Adds one record's payload (an encoded batch) and returns its number of events. Throws
    /// <see cref="Log.LogCorruptException"/> when the payload is not a valid batch; the block is then unusable.
    /// </summary>
    int Add(ReadOnlySpan<byte> payload);
}
