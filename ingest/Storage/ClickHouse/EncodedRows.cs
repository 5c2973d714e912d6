using System.Text;
using Platform.Ingest.Log;
using Platform.Ingest.Shipping;

namespace Platform.Ingest.Storage.ClickHouse;

/// <summary>
/// The rows of one insert into <c>events</c>, written from the write-ahead log's encoded records: the log stores every
/// string as length-prefixed UTF-8, as RowBinary does, so the bytes are copied across without building an event, a
/// string or a trait array. The shipper's blocks live about a second, long enough for objects to reach the GC's oldest
/// generation; this keeps a block down to one pooled buffer. Writes exactly what <see cref="ClickHouseEventStore.WriteRows"/>
/// writes for the same batches (a test holds the two to it), including "the first occurrence of an event wins", and adds
/// each stored event's traits to the shipper's <see cref="PendingTraitStates"/>.
/// </summary>
internal sealed class EncodedRows(int events, PendingTraitStates states) : IShippingBlock, IEncodedEventVisitor
{
    // One block at a time ships, so one set of seen keys serves them all: at 20,000 events it is a megabyte on the
    // large object heap, which a new set per block would add every second.
    private static HashSet<(string Tenant, UInt128 Key)>? s_spareSeen;

    private readonly RowBinaryWriter _rows = new(events * 512);
    private readonly HashSet<(string Tenant, UInt128 Key)> _seen = Interlocked.Exchange(ref s_spareSeen, null) ?? new(events);
    private byte[] _tenantUtf8 = [];
    private string _tenant = string.Empty;
    private ulong _receivedUs;
    private bool _disposed;

    public RowBinaryWriter Rows => _rows;

    public int Add(ReadOnlySpan<byte> payload) => IngestBatchCodec.Walk(payload, this);

    void IEncodedEventVisitor.Batch(ReadOnlySpan<byte> tenant, long receivedAtMicros)
    {
        // Consecutive records are often one tenant's: decode its name once.
        if (!tenant.SequenceEqual(_tenantUtf8))
        {
            _tenantUtf8 = tenant.ToArray();
            _tenant = Encoding.UTF8.GetString(tenant);
        }

        _receivedUs = Micros(receivedAtMicros);
    }

    void IEncodedEventVisitor.Event(in EncodedEvent e)
    {
        if (!_seen.Add((_tenant, e.Key)))
        {
            return;
        }

        // Column order as in ClickHouseEventStore.EventColumns.
        _rows.Utf8(_tenantUtf8);
        Span<byte> hex = stackalloc byte[32];
        scoped ReadOnlySpan<byte> eventId = e.EventId;
        if (e.IdIsKeyHex)
        {
            IngestBatchCodec.WriteKeyHex(e.Key, hex);
            eventId = hex;
        }

        _rows.Utf8(eventId);

        _rows.UInt8(e.HasMessageId ? (byte)0 : (byte)1);
        if (e.HasMessageId)
        {
            _rows.Utf8(e.MessageId);
        }

        _rows.Utf8(e.GroupId);
        _rows.Utf8(e.UserId);
        _rows.UInt64(Micros(e.TimestampMicros));
        _rows.Utf8(e.GroupType);
        _rows.ArrayLength(e.Traits.Count);
        foreach (var trait in e.Traits)
        {
            _rows.Utf8(trait.Key);
        }

        _rows.ArrayLength(e.Traits.Count);
        foreach (var trait in e.Traits)
        {
            // A clear is '' (its Json is empty); a value is JSON text, never empty.
            _rows.Utf8(trait.Json);
        }

        _rows.UInt8(e.HasContext ? (byte)0 : (byte)1);
        if (e.HasContext)
        {
            _rows.Utf8(e.ContextJson);
        }

        _rows.UInt64(_receivedUs);

        // The event's traits as current-state changes, kept until the shipper flushes them (after this block's insert).
        if (e.Traits.Count > 0)
        {
            states.Version(e.TimestampMicros, eventId);
            foreach (var trait in e.Traits)
            {
                states.Add(_tenantUtf8, e.GroupId, trait.Key, trait.Json);
            }
        }
    }

    public void Dispose()
    {
        // Once only: a second call must not hand the set back while another block may have taken it.
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _rows.Dispose();
        _seen.Clear();
        s_spareSeen = _seen;
    }

    /// <summary>Times are UInt64 in storage; the parser refuses anything before 1970, so a negative one is damage.</summary>
    private static ulong Micros(long micros) =>
        micros >= 0 ? (ulong)micros : throw new LogCorruptException($"a time of {micros} µs before 1970 cannot be stored");
}
