using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;
using Platform.Ingest.Events;
using Platform.Ingest.Storage;

namespace Platform.Ingest.Log;

/// <summary>
/// One <see cref="IngestBatch"/> as a compact binary record, the payload of one log record. Layout (version 1, numbers
/// little-endian, "string" = LEB128 byte count then UTF-8, "varint" = unsigned LEB128):
/// <code>
/// version:u8 = 1 | tenant:string | receivedAtMicros:i64 | eventCount:varint | event*
/// event: flags:u8 | key:u128 | [eventId:string unless flag IdIsKeyHex] | [messageId:string if flag HasMessageId]
///        groupId:string | userId:string | timestampMicros:i64 | groupType:string
///        traitCount:varint | (traitKey:string | traitValue: varint 0 for null, else byteCount+1, then UTF-8)*
///        [traitsJson:string unless flag TraitsJsonIsDerived] | [contextJson:string if flag HasContext]
/// </code>
/// Two fields are usually redundant and are then left out, but only after checking that the decoder rebuilds them to
/// the same characters: the event id when it is the key in lowercase hex (what the parser produces), and the traits
/// JSON when it is exactly <c>{"key":value,...}</c> of the traits (true unless a key needed escaping). Either way the
/// decoded event equals the encoded one field for field.
/// </summary>
internal static class IngestBatchCodec
{
    public const byte Version = 1;

    /// <summary>Strings longer than this are refused by the decoder (and never produced by the parser's limits).</summary>
    public const int MaxStringBytes = 64 * 1024 * 1024;

    [Flags]
    private enum EventFlags : byte
    {
        None = 0,
        HasMessageId = 1,
        HasContext = 2,
        IdIsKeyHex = 4,
        TraitsJsonIsDerived = 8,
        Known = HasMessageId | HasContext | IdIsKeyHex | TraitsJsonIsDerived,
    }

    private static readonly Encoding StrictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Writes <paramref name="batch"/> to <paramref name="output"/>.</summary>
    public static void Encode(IngestBatch batch, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(output);
        var span = output.GetSpan(1);
        span[0] = Version;
        output.Advance(1);
        WriteString(output, batch.Tenant);
        WriteInt64(output, batch.ReceivedAtMicros);
        var events = batch.Events;
        WriteVarint(output, (uint)events.Count);
        for (var i = 0; i < events.Count; i++)
        {
            WriteEvent(output, events[i]);
        }
    }

    /// <summary>
    /// Reads a batch written by <see cref="Encode"/>. Every length is checked against the bytes left, so bad input
    /// costs no more memory than its own size; any inconsistency throws <see cref="LogCorruptException"/>, nothing else.
    /// </summary>
    public static IngestBatch Decode(ReadOnlySpan<byte> payload)
    {
        var decoder = new Decoder();
        Walk(payload, decoder);
        return new IngestBatch { Tenant = decoder.Tenant, ReceivedAtMicros = decoder.ReceivedAtMicros, Events = decoder.Events };
    }

    /// <summary>
    /// Walks a batch written by <see cref="Encode"/> without building it: the visitor gets the tenant and then each
    /// event as the UTF-8 bytes it was encoded with, which the shipper copies straight into ClickHouse rows. It checks
    /// exactly what <see cref="Decode"/> checks (lengths, counts, flags, UTF-8, nothing left over) and throws
    /// <see cref="LogCorruptException"/> alike. Returns the number of events.
    /// </summary>
    public static int Walk<TVisitor>(ReadOnlySpan<byte> payload, TVisitor visitor)
        where TVisitor : IEncodedEventVisitor
    {
        ArgumentNullException.ThrowIfNull(visitor);
        var reader = new Reader(payload);
        var version = reader.Byte();
        if (version != Version)
        {
            throw new LogCorruptException($"unknown batch record version {version} (this build reads version {Version})");
        }

        visitor.Batch(reader.Utf8Bytes(reader.Varint()), reader.Int64());
        var count = reader.Count(minimumBytesEach: 20);
        for (var i = 0; i < count; i++)
        {
            var flags = (EventFlags)reader.Byte();
            if ((flags & ~EventFlags.Known) != 0)
            {
                throw new LogCorruptException($"event flags 0x{(byte)flags:x2} hold unknown bits");
            }

            var key = reader.UInt128();
            var idIsKeyHex = (flags & EventFlags.IdIsKeyHex) != 0;
            var eventId = idIsKeyHex ? default : reader.Utf8Bytes(reader.Varint());
            var hasMessageId = (flags & EventFlags.HasMessageId) != 0;
            var messageId = hasMessageId ? reader.Utf8Bytes(reader.Varint()) : default;
            var groupId = reader.Utf8Bytes(reader.Varint());
            var userId = reader.Utf8Bytes(reader.Varint());
            var timestamp = reader.Int64();
            var groupType = reader.Utf8Bytes(reader.Varint());
            var traitCount = reader.Count(minimumBytesEach: 2);
            var traitsStart = reader.Position;
            for (var t = 0; t < traitCount; t++)
            {
                reader.Utf8Bytes(reader.Varint());
                var prefix = reader.Varint();
                if (prefix > 0)
                {
                    reader.Utf8Bytes(prefix - 1L);
                }
            }

            var traits = new EncodedTraits(payload[traitsStart..reader.Position], traitCount);
            var traitsJsonIsDerived = (flags & EventFlags.TraitsJsonIsDerived) != 0;
            var traitsJson = traitsJsonIsDerived ? default : reader.Utf8Bytes(reader.Varint());

            var hasContext = (flags & EventFlags.HasContext) != 0;
            var context = hasContext ? reader.Utf8Bytes(reader.Varint()) : default;
            visitor.Event(new EncodedEvent(key, idIsKeyHex, eventId, hasMessageId, messageId, groupId, userId, timestamp, groupType, traits, traitsJsonIsDerived, traitsJson, hasContext, context));
        }

        if (!reader.AtEnd)
        {
            throw new LogCorruptException($"batch record has {reader.Remaining} bytes after its last event");
        }

        return count;
    }

    /// <summary>The event id an event's key stands for when the id is left out (<c>IdIsKeyHex</c>): 32 lowercase hex digits.</summary>
    public static void WriteKeyHex(UInt128 key, Span<byte> utf8)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, key);
        Convert.TryToHexStringLower(bytes, utf8, out _);
    }

    private static void WriteEvent(IBufferWriter<byte> output, GroupEvent e)
    {
        var flags = EventFlags.None;
        if (e.MessageId is not null)
        {
            flags |= EventFlags.HasMessageId;
        }

        if (e.ContextJson is not null)
        {
            flags |= EventFlags.HasContext;
        }

        if (IsKeyHex(e.EventId, e.Key))
        {
            flags |= EventFlags.IdIsKeyHex;
        }

        if (IsDerivedTraitsJson(e.TraitsJson, e.Traits))
        {
            flags |= EventFlags.TraitsJsonIsDerived;
        }

        var span = output.GetSpan(17);
        span[0] = (byte)flags;
        BinaryPrimitives.WriteUInt128LittleEndian(span[1..], e.Key);
        output.Advance(17);
        if ((flags & EventFlags.IdIsKeyHex) == 0)
        {
            WriteString(output, e.EventId);
        }

        if (e.MessageId is not null)
        {
            WriteString(output, e.MessageId);
        }

        WriteString(output, e.GroupId);
        WriteString(output, e.UserId);
        WriteInt64(output, e.TimestampMicros);
        WriteString(output, e.GroupType);
        var traits = e.Traits;
        WriteVarint(output, (uint)traits.Length);
        foreach (var trait in traits)
        {
            WriteString(output, trait.Key);
            if (trait.Json is null)
            {
                WriteVarint(output, 0);
            }
            else
            {
                WriteBytes(output, trait.Json, extra: 1);
            }
        }

        if ((flags & EventFlags.TraitsJsonIsDerived) == 0)
        {
            WriteString(output, e.TraitsJson);
        }

        if (e.ContextJson is not null)
        {
            WriteString(output, e.ContextJson);
        }
    }

    private static string KeyHex(UInt128 key)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, key);
        return Convert.ToHexStringLower(bytes);
    }

    private static bool IsKeyHex(string eventId, UInt128 key)
    {
        if (eventId.Length != 32)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, key);
        Span<char> hex = stackalloc char[32];
        Convert.TryToHexStringLower(bytes, hex, out _);
        return eventId.AsSpan().SequenceEqual(hex);
    }

    /// <summary>True when <paramref name="json"/> is exactly <c>{"k1":v1,"k2":v2}</c> of the traits, null as <c>null</c>.</summary>
    private static bool IsDerivedTraitsJson(string json, TraitValue[] traits)
    {
        var rest = json.AsSpan();
        if (!Take(ref rest, "{"))
        {
            return false;
        }

        for (var i = 0; i < traits.Length; i++)
        {
            if ((i > 0 && !Take(ref rest, ",")) || !Take(ref rest, "\"") || !Take(ref rest, traits[i].Key)
                || !Take(ref rest, "\":") || !Take(ref rest, traits[i].Json ?? "null"))
            {
                return false;
            }
        }

        return Take(ref rest, "}") && rest.IsEmpty;

        static bool Take(ref ReadOnlySpan<char> rest, ReadOnlySpan<char> expected)
        {
            if (!rest.StartsWith(expected, StringComparison.Ordinal))
            {
                return false;
            }

            rest = rest[expected.Length..];
            return true;
        }
    }

    private static string DeriveTraitsJson(TraitValue[] traits)
    {
        var length = 2 + Math.Max(0, traits.Length - 1);
        foreach (var trait in traits)
        {
            length += trait.Key.Length + 3 + (trait.Json?.Length ?? 4);
        }

        return string.Create(length, traits, static (span, traits) =>
        {
            var at = 0;
            span[at++] = '{';
            for (var i = 0; i < traits.Length; i++)
            {
                if (i > 0)
                {
                    span[at++] = ',';
                }

                span[at++] = '"';
                traits[i].Key.CopyTo(span[at..]);
                at += traits[i].Key.Length;
                span[at++] = '"';
                span[at++] = ':';
                var value = traits[i].Json ?? "null";
                value.CopyTo(span[at..]);
                at += value.Length;
            }

            span[at] = '}';
        });
    }

    private static void WriteString(IBufferWriter<byte> output, string value) => WriteBytes(output, value, extra: 0);

    /// <summary>The UTF-8 byte count plus <paramref name="extra"/> as a varint, then the bytes.</summary>
    private static void WriteBytes(IBufferWriter<byte> output, string value, uint extra)
    {
        var count = StrictUtf8.GetByteCount(value);
        var span = output.GetSpan(5 + count);
        var prefix = WriteVarint(span, (uint)count + extra);
        var written = StrictUtf8.GetBytes(value, span[prefix..]);
        output.Advance(prefix + written);
    }

    private static void WriteInt64(IBufferWriter<byte> output, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(output.GetSpan(8), value);
        output.Advance(8);
    }

    private static void WriteVarint(IBufferWriter<byte> output, uint value)
    {
        var written = WriteVarint(output.GetSpan(5), value);
        output.Advance(written);
    }

    private static int WriteVarint(Span<byte> span, uint value)
    {
        var at = 0;
        while (value >= 0x80)
        {
            span[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[at++] = (byte)value;
        return at;
    }

    /// <summary>Builds the batch <see cref="Walk{TVisitor}"/> reads: the one reader of the format serves both uses.</summary>
    private sealed class Decoder : IEncodedEventVisitor
    {
        public string Tenant { get; private set; } = string.Empty;

        public long ReceivedAtMicros { get; private set; }

        public List<GroupEvent> Events { get; } = [];

        public void Batch(ReadOnlySpan<byte> tenant, long receivedAtMicros)
        {
            Tenant = Text(tenant);
            ReceivedAtMicros = receivedAtMicros;
        }

        public void Event(in EncodedEvent e)
        {
            var traits = e.Traits.Count == 0 ? [] : new TraitValue[e.Traits.Count];
            var i = 0;
            foreach (var trait in e.Traits)
            {
                traits[i++] = new TraitValue(Text(trait.Key), trait.IsClear ? null : Text(trait.Json));
            }

            Events.Add(new GroupEvent
            {
                EventId = e.IdIsKeyHex ? KeyHex(e.Key) : Text(e.EventId),
                Key = e.Key,
                MessageId = e.HasMessageId ? Text(e.MessageId) : null,
                GroupId = Text(e.GroupId),
                UserId = Text(e.UserId),
                TimestampMicros = e.TimestampMicros,
                GroupType = Text(e.GroupType),
                Traits = traits,
                TraitsJson = e.TraitsJsonIsDerived ? DeriveTraitsJson(traits) : Text(e.TraitsJson),
                ContextJson = e.HasContext ? Text(e.ContextJson) : null,
            });
        }

        private static string Text(ReadOnlySpan<byte> utf8) => utf8.IsEmpty ? string.Empty : Encoding.UTF8.GetString(utf8);
    }

    private ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _at;

        public readonly bool AtEnd => _at == _bytes.Length;

        public readonly int Remaining => _bytes.Length - _at;

        public byte Byte()
        {
            Need(1);
            return _bytes[_at++];
        }

        public long Int64()
        {
            Need(8);
            var value = BinaryPrimitives.ReadInt64LittleEndian(_bytes[_at..]);
            _at += 8;
            return value;
        }

        public UInt128 UInt128()
        {
            Need(16);
            var value = BinaryPrimitives.ReadUInt128LittleEndian(_bytes[_at..]);
            _at += 16;
            return value;
        }

        /// <summary>An unsigned LEB128 of at most 32 bits.</summary>
        public uint Varint()
        {
            uint value = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                var b = Byte();
                if (shift == 28 && b > 0x0F)
                {
                    throw new LogCorruptException($"varint at byte {_at - 1} does not fit 32 bits");
                }

                value |= (uint)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new LogCorruptException($"varint at byte {_at} does not fit 32 bits");
        }

        public int Count(int minimumBytesEach)
        {
            var count = Varint();
            if (count > (uint)(Remaining / minimumBytesEach))
            {
                throw new LogCorruptException($"count {count} at byte {_at} exceeds what the {Remaining} bytes left can hold");
            }

            return (int)count;
        }

        public readonly int Position => _at;

        /// <summary>The next <paramref name="count"/> bytes, checked to be in the record and valid UTF-8.</summary>
        public ReadOnlySpan<byte> Utf8Bytes(long count)
        {
            if (count > MaxStringBytes)
            {
                throw new LogCorruptException($"string length {count} at byte {_at} exceeds {MaxStringBytes}");
            }

            Need((int)count);
            var slice = _bytes.Slice(_at, (int)count);
            if (!System.Text.Unicode.Utf8.IsValid(slice))
            {
                throw new LogCorruptException($"string at byte {_at} is not valid UTF-8");
            }

            _at += (int)count;
            return slice;
        }

        private readonly void Need(int count)
        {
            if (count < 0 || count > _bytes.Length - _at)
            {
                throw new LogCorruptException($"record ends at byte {_bytes.Length}, {count} more bytes expected at byte {_at}");
            }
        }
    }
}
