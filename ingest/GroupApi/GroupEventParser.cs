using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Platform.Ingest.Events;
using Platform.Ingest.Storage;
using Platform.ServiceDefaults.Contract;

namespace Platform.Ingest.GroupApi;

/// <summary>The outcome of parsing one request body: the events when valid, every problem otherwise.</summary>
internal sealed class ParseOutcome
{
    public List<GroupEvent> Events { get; } = [];

    public List<ApiError> Errors { get; } = [];

    /// <summary>How many events the body held (also when it is invalid; 0 when it could not be read as a batch).</summary>
    public int EventCount { get; set; }

    public bool IsValid => Errors.Count == 0;
}

/// <summary>
/// Reads a Group API request body (one event object or an array of them) and validates every field rule and
/// limit in one pass over the UTF-8 bytes. Finds all problems rather than stopping at the first, so a client
/// can fix a batch in one round. Also computes each event's identity (its dedup key and event id).
/// </summary>
internal sealed class GroupEventParser(IOptions<GroupApiOptions> options, TimeProvider time)
{
    /// <summary>At most this many problems are listed in one 400; the rest are counted.</summary>
    public const int MaxListedErrors = 1_000;

    /// <summary>Distinct trait names kept as shared strings (see <see cref="NameCache"/>).</summary>
    internal const int CachedTraitNames = 10_000;

    private readonly GroupApiOptions _limits = options.Value;
    private readonly NameCache _traitNames = new(CachedTraitNames, KnownTraits.Kinds.Keys);

    public ParseOutcome Parse(ReadOnlySpan<byte> body, string tenant)
    {
        var state = new ParseState(_limits, tenant, time.GetUtcNow());
        var reader = new Utf8JsonReader(body, new JsonReaderOptions
        {
            MaxDepth = _limits.MaxJsonDepth,
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
        });
        try
        {
            ParseBody(ref reader, state);
        }
        catch (JsonException ex)
        {
            state.Outcome.Events.Clear();
            state.Outcome.Errors.Clear();
            state.AddError(null, "body", $"is not valid JSON: {ex.Message}");
        }
        finally
        {
            state.Dispose();
        }

        state.Finish();
        return state.Outcome;
    }

    private void ParseBody(ref Utf8JsonReader reader, ParseState state)
    {
        if (!reader.Read())
        {
            state.AddError(null, "body", "is empty; send a JSON array of group events");
            return;
        }

        if (reader.TokenType == JsonTokenType.StartObject)
        {
            state.Outcome.EventCount = 1;
            ParseEvent(ref reader, 0, state);
        }
        else if (reader.TokenType == JsonTokenType.StartArray)
        {
            var index = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (index >= _limits.MaxEventsPerRequest)
                {
                    reader.Skip();
                    index++;
                    continue;
                }

                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ParseEvent(ref reader, index, state);
                }
                else
                {
                    state.AddError(index, "", "an event must be a JSON object");
                    reader.Skip();
                }

                index++;
            }

            state.Outcome.EventCount = index;
            if (index == 0)
            {
                state.AddError(null, "body", "holds no events");
            }
            else if (index > _limits.MaxEventsPerRequest)
            {
                state.Outcome.Events.Clear();
                state.Outcome.Errors.Clear();
                state.AddError(null, "body", $"holds {index} events; a request may hold at most {_limits.MaxEventsPerRequest}");
                return;
            }
        }
        else
        {
            state.AddError(null, "body", "must be a JSON array of group events (or one event object)");
            return;
        }

        if (reader.Read())
        {
            state.AddError(null, "body", "has content after the JSON value");
        }

        if (state.DistinctGroups.Count > _limits.MaxGroupsPerRequest)
        {
            state.AddError(null, "group_id", $"the request touches {state.DistinctGroups.Count} distinct groups; at most {_limits.MaxGroupsPerRequest} are allowed");
        }
    }

    private void ParseEvent(ref Utf8JsonReader reader, int index, ParseState state)
    {
        var errorsBefore = state.ErrorCount;
        string? groupId = null, userId = null, messageId = null, contextGroupId = null, contextJson = null;
        long timestamp = 0;
        var seen = SeenFields.None;
        TraitValue[]? traits = null;
        string? groupType = null;

        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var field = ClassifyField(ref reader);
            reader.Read();
            if (field == SeenFields.None)
            {
                reader.Skip(); // Unknown top-level fields are ignored, as other Group API implementations do.
                continue;
            }

            if ((seen & field) != 0)
            {
                state.AddError(index, FieldName(field), "appears more than once");
                reader.Skip();
                continue;
            }

            seen |= field;
            switch (field)
            {
                case SeenFields.GroupId:
                    groupId = ReadId(ref reader, index, "group_id", state);
                    break;
                case SeenFields.UserId:
                    userId = ReadId(ref reader, index, "user_id", state);
                    break;
                case SeenFields.MessageId:
                case SeenFields.MessageIdCamel:
                    var id = ReadId(ref reader, index, FieldName(field), state);
                    if (id is not null && messageId is not null && id != messageId)
                    {
                        state.AddError(index, "message_id", "message_id and messageId disagree");
                    }

                    messageId ??= id;
                    break;
                case SeenFields.Timestamp:
                    timestamp = ReadTimestamp(ref reader, index, state);
                    break;
                case SeenFields.Traits:
                    traits = ReadTraits(ref reader, index, state, out groupType);
                    break;
                case SeenFields.Context:
                    contextJson = ReadContext(ref reader, index, state, out contextGroupId);
                    break;
            }
        }

        if (groupId is null)
        {
            // The reference's own example carries group_id inside context; read it there when the top level has none.
            groupId = contextGroupId;
            if (groupId is null
                && !state.HasErrorFor(index, "group_id", errorsBefore)
                && !state.HasErrorFor(index, "context.group_id", errorsBefore))
            {
                state.AddError(index, "group_id", "is required (a non-empty string; context.group_id is read when it is absent)");
            }
        }

        if (userId is null && !state.HasErrorFor(index, "user_id", errorsBefore))
        {
            state.AddError(index, "user_id", "is required");
        }

        if ((seen & SeenFields.Timestamp) == 0)
        {
            state.AddError(index, "timestamp", "is required");
        }

        if ((seen & SeenFields.Traits) == 0)
        {
            state.AddError(index, "traits.group_type", "is required (traits must hold a group_type)");
        }

        if (state.ErrorCount > errorsBefore || groupId is null || userId is null || traits is null || groupType is null)
        {
            return;
        }

        state.DistinctGroups.Add(groupId);
        var traitsJson = WriteTraitsObject(traits, state);
        var key = ComputeIdentity(state, groupId, userId, timestamp, messageId, traitsJson, contextJson);
        state.Outcome.Events.Add(new GroupEvent
        {
            EventId = ToHex(key),
            Key = key,
            MessageId = messageId,
            GroupId = groupId,
            UserId = userId,
            TimestampMicros = timestamp,
            GroupType = groupType,
            Traits = traits,
            TraitsJson = traitsJson,
            ContextJson = contextJson,
        });
    }

    private static SeenFields ClassifyField(ref Utf8JsonReader reader)
    {
        if (reader.ValueTextEquals("group_id"u8))
        {
            return SeenFields.GroupId;
        }

        if (reader.ValueTextEquals("user_id"u8))
        {
            return SeenFields.UserId;
        }

        if (reader.ValueTextEquals("timestamp"u8))
        {
            return SeenFields.Timestamp;
        }

        if (reader.ValueTextEquals("traits"u8))
        {
            return SeenFields.Traits;
        }

        if (reader.ValueTextEquals("context"u8))
        {
            return SeenFields.Context;
        }

        if (reader.ValueTextEquals("message_id"u8))
        {
            return SeenFields.MessageId;
        }

        return reader.ValueTextEquals("messageId"u8) ? SeenFields.MessageIdCamel : SeenFields.None;
    }

    private static string FieldName(SeenFields field) => field switch
    {
        SeenFields.GroupId => "group_id",
        SeenFields.UserId => "user_id",
        SeenFields.Timestamp => "timestamp",
        SeenFields.Traits => "traits",
        SeenFields.Context => "context",
        SeenFields.MessageId => "message_id",
        SeenFields.MessageIdCamel => "messageId",
        _ => "",
    };

    private string? ReadId(ref Utf8JsonReader reader, int index, string field, ParseState state)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            state.AddError(index, field, "must be a string");
            reader.Skip();
            return null;
        }

        var value = reader.GetString()!;
        if (string.IsNullOrWhiteSpace(value))
        {
            state.AddError(index, field, "must not be empty");
            return null;
        }

        if (Encoding.UTF8.GetByteCount(value) > _limits.MaxIdBytes)
        {
            state.AddError(index, field, $"is longer than {_limits.MaxIdBytes} bytes");
            return null;
        }

        return value;
    }

    private long ReadTimestamp(ref Utf8JsonReader reader, int index, ParseState state)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            state.AddError(index, "timestamp", "must be an ISO 8601 date-time string with a zone, e.g. 2023-12-14T16:07:33.571125Z");
            reader.Skip();
            return 0;
        }

        Span<byte> scratch = stackalloc byte[64];
        scoped ReadOnlySpan<byte> text;
        if (reader.ValueIsEscaped || reader.HasValueSequence)
        {
            if (reader.ValueSpan.Length > scratch.Length)
            {
                state.AddError(index, "timestamp", "must be an ISO 8601 date-time with a zone, e.g. 2023-12-14T16:07:33.571125Z");
                return 0;
            }

            text = scratch[..reader.CopyString(scratch)];
        }
        else
        {
            text = reader.ValueSpan;
        }

        var problem = IsoTimestamp.TryParse(text, out var micros);
        if (problem is not null)
        {
            state.AddError(index, "timestamp", problem);
            return 0;
        }

        if (micros > state.LatestAcceptedMicros)
        {
            state.AddError(index, "timestamp", $"lies more than {_limits.MaxFutureSkew} in the future");
            return 0;
        }

        return micros;
    }

    private TraitValue[]? ReadTraits(ref Utf8JsonReader reader, int index, ParseState state, out string? groupType)
    {
        groupType = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            state.AddError(index, "traits", "must be an object holding at least group_type");
            reader.Skip();
            return null;
        }

        var errorsBefore = state.ErrorCount;
        var traits = state.TraitScratch;
        traits.Clear();
        state.GroupType = null;
        var count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var key = _traitNames.Get(ref reader);
            reader.Read();
            if (++count == _limits.MaxTraitsPerEvent + 1)
            {
                state.AddError(index, "traits", $"holds more than {_limits.MaxTraitsPerEvent} traits");
            }

            if (key.Length == 0 || Encoding.UTF8.GetByteCount(key) > _limits.MaxTraitKeyBytes)
            {
                state.AddError(index, "traits", key.Length == 0
                    ? "has an empty trait name"
                    : $"has a trait name longer than {_limits.MaxTraitKeyBytes} bytes");
                reader.Skip();
                continue;
            }

            if (TryReadTraitValue(ref reader, index, key, state, out var json))
            {
                traits.Add(new TraitValue(key, json));
            }
        }

        if (traits.Count > 1)
        {
            traits.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            for (var i = 1; i < traits.Count; i++)
            {
                if (traits[i].Key == traits[i - 1].Key)
                {
                    state.AddError(index, $"traits.{traits[i].Key}", "appears more than once");
                }
            }
        }

        var groupTypeIndex = traits.FindIndex(static t => t.Key == KnownTraits.GroupType);
        if (groupTypeIndex < 0)
        {
            if (!state.HasErrorFor(index, "traits.group_type", errorsBefore))
            {
                state.AddError(index, "traits.group_type", "is required (for example Account or Team)");
            }

            return null;
        }

        if (state.ErrorCount > errorsBefore)
        {
            return null;
        }

        groupType = state.GroupType;
        return [.. traits];
    }

    /// <summary>
    /// Validates one trait value and gives it as minified JSON, or null for a JSON null (the trait is cleared).
    /// False when the value breaks a rule (the problem is recorded).
    /// </summary>
    private bool TryReadTraitValue(ref Utf8JsonReader reader, int index, string key, ParseState state, out string? json)
    {
        json = null;
        var isKnown = KnownTraits.Kinds.TryGetValue(key, out var kind);
        if (reader.TokenType == JsonTokenType.Null)
        {
            if (key == KnownTraits.GroupType)
            {
                state.AddError(index, "traits.group_type", "is required and must be a non-empty string; it cannot be cleared");
                return false;
            }

            return true;
        }

        var writer = state.StartValue();
        if (!isKnown)
        {
            WriteCanonical(ref reader, writer);
        }
        else if (kind == TraitKind.String)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                state.AddError(index, $"traits.{key}", "must be a string");
                reader.Skip();
                return false;
            }

            if (key == KnownTraits.GroupType)
            {
                var groupType = reader.GetString();
                if (string.IsNullOrWhiteSpace(groupType))
                {
                    state.AddError(index, "traits.group_type", "must be a non-empty string");
                    return false;
                }

                state.GroupType = groupType;
            }

            WriteString(ref reader, writer);
        }
        else if (kind == TraitKind.Integer)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var number))
            {
                state.AddError(index, $"traits.{key}", "must be an integer");
                reader.Skip();
                return false;
            }

            writer.WriteNumberValue(number);
        }
        else
        {
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                state.AddError(index, $"traits.{key}", "must be an array of strings");
                reader.Skip();
                return false;
            }

            writer.WriteStartArray();
            var item = 0;
            var ok = true;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.String)
                {
                    state.AddError(index, $"traits.{key}[{item}]", "must be a string");
                    reader.Skip();
                    ok = false;
                }
                else
                {
                    WriteString(ref reader, writer);
                }

                item++;
            }

            if (!ok)
            {
                return false;
            }

            writer.WriteEndArray();
        }

        var written = state.FinishValue();
        if (written.Length > _limits.MaxTraitValueBytes)
        {
            state.AddError(index, $"traits.{key}", $"is larger than {_limits.MaxTraitValueBytes} bytes");
            return false;
        }

        json = Encoding.UTF8.GetString(written);
        return true;
    }

    private string? ReadContext(ref Utf8JsonReader reader, int index, ParseState state, out string? contextGroupId)
    {
        contextGroupId = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            state.AddError(index, "context", "must be an object");
            reader.Skip();
            return null;
        }

        // A look ahead on a copy of the reader: the object itself is still to be written below.
        if (ScanContext(reader, out var groupIdValue, out var groupIdKind) == 0)
        {
            reader.Skip();
            return null;
        }

        if (groupIdKind is not null and not JsonTokenType.Null)
        {
            if (string.IsNullOrWhiteSpace(groupIdValue))
            {
                state.AddError(index, "context.group_id", "must be a non-empty string");
            }
            else if (Encoding.UTF8.GetByteCount(groupIdValue) > _limits.MaxIdBytes)
            {
                state.AddError(index, "context.group_id", $"is longer than {_limits.MaxIdBytes} bytes");
            }
            else
            {
                contextGroupId = groupIdValue;
            }
        }

        var writer = state.StartValue();
        WriteCanonical(ref reader, writer);
        var json = state.FinishValue();
        if (json.Length > _limits.MaxContextBytes)
        {
            state.AddError(index, "context", $"is larger than {_limits.MaxContextBytes} bytes");
            return null;
        }

        return Encoding.UTF8.GetString(json);
    }

    private static void WriteString(ref Utf8JsonReader reader, Utf8JsonWriter writer)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence)
        {
            writer.WriteStringValue(reader.GetString());
        }
        else
        {
            writer.WriteStringValue(reader.ValueSpan);
        }
    }

    /// <summary>Writes the value at the reader minified, with object members sorted by name, so equal content hashes equally.</summary>
    private static void WriteCanonical(ref Utf8JsonReader reader, Utf8JsonWriter writer)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject when HasSortedPlainNames(reader):
                // Already in canonical order (the usual case): written as it is read, without building a document.
                writer.WriteStartObject();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    writer.WritePropertyName(reader.ValueSpan);
                    reader.Read();
                    WriteCanonical(ref reader, writer);
                }

                writer.WriteEndObject();
                break;
            case JsonTokenType.StartObject:
                using (var document = JsonDocument.ParseValue(ref reader))
                {
                    WriteCanonical(document.RootElement, writer);
                }

                break;
            case JsonTokenType.StartArray:
                writer.WriteStartArray();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    WriteCanonical(ref reader, writer);
                }

                writer.WriteEndArray();
                break;
            case JsonTokenType.String:
                WriteString(ref reader, writer);
                break;
            case JsonTokenType.Number:
                writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                break;
            case JsonTokenType.True:
                writer.WriteBooleanValue(true);
                break;
            case JsonTokenType.False:
                writer.WriteBooleanValue(false);
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }

    /// <summary>
    /// True when the object at the reader (a copy; the caller's reader does not move) has member names that are plain,
    /// unescaped ASCII in strictly ascending order. For ASCII, byte order is ordinal order, so such an object is already
    /// canonical at its own level; duplicates are not ascending and take the general path, as before.
    /// </summary>
    private static bool HasSortedPlainNames(Utf8JsonReader reader)
    {
        ReadOnlySpan<byte> previous = default;
        var first = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.ValueIsEscaped || reader.HasValueSequence)
            {
                return false;
            }

            var name = reader.ValueSpan;
            if (System.Text.Ascii.IsValid(name) is false || (!first && previous.SequenceCompareTo(name) >= 0))
            {
                return false;
            }

            previous = name;
            first = false;
            reader.Read();
            reader.Skip();
        }

        return true;
    }

    /// <summary>
    /// Counts the context object's members (on a copy of the reader) and finds its group_id: the last one, as a
    /// document lookup would, with its token kind (null when absent) and its text when it is a string.
    /// </summary>
    private static int ScanContext(Utf8JsonReader reader, out string? groupId, out JsonTokenType? groupIdKind)
    {
        groupId = null;
        groupIdKind = null;
        var members = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            members++;
            var isGroupId = reader.ValueTextEquals("group_id"u8);
            reader.Read();
            if (isGroupId)
            {
                groupIdKind = reader.TokenType;
                groupId = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }

            reader.Skip();
        }

        return members;
    }

    private static void WriteCanonical(JsonElement element, Utf8JsonWriter writer)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var members = new List<JsonProperty>();
                foreach (var member in element.EnumerateObject())
                {
                    members.Add(member);
                }

                members.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
                writer.WriteStartObject();
                foreach (var member in members)
                {
                    writer.WritePropertyName(member.Name);
                    WriteCanonical(member.Value, writer);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    WriteCanonical(item, writer);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(element.GetString());
                break;
            case JsonValueKind.Number:
                writer.WriteRawValue(element.GetRawText(), skipInputValidation: true);
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }

    private static string WriteTraitsObject(TraitValue[] traits, ParseState state)
    {
        var writer = state.StartValue();
        writer.WriteStartObject();
        foreach (var trait in traits)
        {
            writer.WritePropertyName(trait.Key);
            if (trait.Json is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                writer.WriteRawValue(trait.Json, skipInputValidation: true);
            }
        }

        writer.WriteEndObject();
        return Encoding.UTF8.GetString(state.FinishValue());
    }

    /// <summary>
    /// The event's identity within its tenant: the message_id when given, else the canonical content
    /// (group, user, timestamp, traits, context). The first 128 bits of a SHA-256, so ids cannot be forged to collide.
    /// </summary>
    private static UInt128 ComputeIdentity(
        ParseState state, string groupId, string userId, long timestamp, string? messageId, string traitsJson, string? contextJson)
    {
        var buffer = state.HashInput;
        buffer.ResetWrittenCount();
        Append(buffer, "group-event/v1");
        Append(buffer, state.Tenant);
        if (messageId is not null)
        {
            Append(buffer, "m");
            Append(buffer, messageId);
        }
        else
        {
            Append(buffer, "c");
            Append(buffer, groupId);
            Append(buffer, userId);
            BinaryPrimitives.WriteInt64BigEndian(buffer.GetSpan(8), timestamp);
            buffer.Advance(8);
            Append(buffer, traitsJson);
            Append(buffer, contextJson ?? "");
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(buffer.WrittenSpan, hash);
        return BinaryPrimitives.ReadUInt128BigEndian(hash);
    }

    /// <summary>Appends a string and a 0xFF separator (a byte UTF-8 never produces, so fields cannot run together).</summary>
    private static void Append(ArrayBufferWriter<byte> buffer, string value)
    {
        var span = buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(value.Length) + 1);
        var written = Encoding.UTF8.GetBytes(value, span);
        span[written] = 0xFF;
        buffer.Advance(written + 1);
    }

    internal static string ToHex(UInt128 key)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, key);
        return Convert.ToHexStringLower(bytes);
    }

    [Flags]
    private enum SeenFields
    {
        None = 0,
        GroupId = 1,
        UserId = 2,
        Timestamp = 4,
        Traits = 8,
        Context = 16,
        MessageId = 32,
        MessageIdCamel = 64,
    }

    /// <summary>Scratch buffers and results of one parse; not shared between requests.</summary>
    private sealed class ParseState : IDisposable
    {
        private readonly ArrayBufferWriter<byte> _valueBuffer = new(256);
        private readonly Utf8JsonWriter _writer;
        private int _unlisted;

        public ParseState(GroupApiOptions limits, string tenant, DateTimeOffset now)
        {
            Tenant = tenant;
            LatestAcceptedMicros = (now + limits.MaxFutureSkew).ToUnixTimeMilliseconds() * 1000;
            _writer = new Utf8JsonWriter(_valueBuffer, CanonicalJson.WriterOptions);
        }

        public string Tenant { get; }

        public long LatestAcceptedMicros { get; }

        public ParseOutcome Outcome { get; } = new();

        public HashSet<string> DistinctGroups { get; } = new(StringComparer.Ordinal);

        public List<TraitValue> TraitScratch { get; } = [];

        /// <summary>The current event's group_type, as read while validating it.</summary>
        public string? GroupType { get; set; }

        public ArrayBufferWriter<byte> HashInput { get; } = new(512);

        public int ErrorCount => Outcome.Errors.Count + _unlisted;

        public void AddError(int? index, string field, string message)
        {
            if (Outcome.Errors.Count < MaxListedErrors)
            {
                Outcome.Errors.Add(new ApiError(index, field, message));
            }
            else
            {
                _unlisted++;
            }
        }

        public bool HasErrorFor(int index, string field, int since)
        {
            for (var i = since; i < Outcome.Errors.Count; i++)
            {
                if (Outcome.Errors[i].Index == index && Outcome.Errors[i].Field == field)
                {
                    return true;
                }
            }

            return false;
        }

        public Utf8JsonWriter StartValue()
        {
            _valueBuffer.ResetWrittenCount();
            _writer.Reset(_valueBuffer);
            return _writer;
        }

        public ReadOnlySpan<byte> FinishValue()
        {
            _writer.Flush();
            return _valueBuffer.WrittenSpan;
        }

        public void Finish()
        {
            if (_unlisted > 0)
            {
                Outcome.Errors.Add(new ApiError(null, "body", $"{_unlisted} more problems were found and not listed"));
            }

            if (!Outcome.IsValid)
            {
                Outcome.Events.Clear();
            }
        }

        public void Dispose() => _writer.Dispose();
    }
}
