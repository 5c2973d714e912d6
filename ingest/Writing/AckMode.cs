namespace Platform.Ingest.Writing;

/// <summary>What a 200 promises. Set per deployment (<c>Writer:Ack</c>) and per request (<c>Prefer: ack=queryable</c>).</summary>
internal enum AckMode
{
    /// <summary>The events are fsynced in the write-ahead log; queries see them within the shipping delay.</summary>
    Durable,

    /// <summary>The events are in storage: a query sent after the 200 sees them (read-your-writes).</summary>
    Queryable,
}
