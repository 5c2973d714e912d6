namespace Platform.Ingest.Log;

/// <summary>What <see cref="IngestBatchCodec.Walk{TVisitor}"/> hands over, record by record and event by event.</summary>
internal interface IEncodedEventVisitor
{
    /// <summary>A record starts: its tenant (UTF-8) and when its request was received.</summary>
    void Batch(ReadOnlySpan<byte> tenant, long receivedAtMicros);

    void Event(in EncodedEvent e);
}

/// <summary>
/// One event of a log record as it was encoded: every string as its UTF-8 bytes inside the record, valid only during
/// the visitor's call. When <see cref="IdIsKeyHex"/> the event id is <see cref="Key"/> in hex
/// (<see cref="IngestBatchCodec.WriteKeyHex"/>) and <see cref="EventId"/> is empty.
/// </summary>
internal readonly ref struct EncodedEvent(
    UInt128 key,
    bool idIsKeyHex,
    ReadOnlySpan<byte> eventId,
    bool hasMessageId,
    ReadOnlySpan<byte> messageId,
    ReadOnlySpan<byte> groupId,
    ReadOnlySpan<byte> userId,
    long timestampMicros,
    ReadOnlySpan<byte> groupType,
    EncodedTraits traits,
    bool traitsJsonIsDerived,
    ReadOnlySpan<byte> traitsJson,
    bool hasContext,
    ReadOnlySpan<byte> contextJson)
{
    public UInt128 Key { get; } = key;

    public bool IdIsKeyHex { get; } = idIsKeyHex;

    public ReadOnlySpan<byte> EventId { get; } = eventId;

    public bool HasMessageId { get; } = hasMessageId;

    public ReadOnlySpan<byte> MessageId { get; } = messageId;

    public ReadOnlySpan<byte> GroupId { get; } = groupId;

    public ReadOnlySpan<byte> UserId { get; } = userId;

    public long TimestampMicros { get; } = timestampMicros;

    public ReadOnlySpan<byte> GroupType { get; } = groupType;

    public EncodedTraits Traits { get; } = traits;

    /// <summary>True when the traits' JSON text was left out as exactly <c>{"key":value,...}</c> of the traits.</summary>
    public bool TraitsJsonIsDerived { get; } = traitsJsonIsDerived;

    /// <summary>The traits' JSON text as sent, unless <see cref="TraitsJsonIsDerived"/> (storage does not keep it).</summary>
    public ReadOnlySpan<byte> TraitsJson { get; } = traitsJson;

    public bool HasContext { get; } = hasContext;

    public ReadOnlySpan<byte> ContextJson { get; } = contextJson;
}

/// <summary>
/// An event's traits as encoded (key, then the value's byte count + 1 or 0 for a clear, then the value), already
/// checked by the walk; enumerate them as many times as needed.
/// </summary>
internal readonly ref struct EncodedTraits(ReadOnlySpan<byte> bytes, int count)
{
    private readonly ReadOnlySpan<byte> _bytes = bytes;

    public int Count { get; } = count;

    public Enumerator GetEnumerator() => new(_bytes);

    /// <summary>One trait: its key, and its JSON value (empty when <see cref="IsClear"/>).</summary>
    public readonly ref struct Trait(ReadOnlySpan<byte> key, ReadOnlySpan<byte> json, bool isClear)
    {
        public ReadOnlySpan<byte> Key { get; } = key;

        public ReadOnlySpan<byte> Json { get; } = json;

        public bool IsClear { get; } = isClear;
    }

    public ref struct Enumerator(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _at;

        public Trait Current { get; private set; }

        public bool MoveNext()
        {
            if (_at >= _bytes.Length)
            {
                return false;
            }

            var keyLength = (int)Varint();
            var key = _bytes.Slice(_at, keyLength);
            _at += keyLength;
            var prefix = (int)Varint();
            var json = prefix == 0 ? default : _bytes.Slice(_at, prefix - 1);
            _at += json.Length;
            Current = new Trait(key, json, prefix == 0);
            return true;
        }

        private uint Varint()
        {
            uint value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = _bytes[_at++];
                value |= (uint)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
        }
    }
}
