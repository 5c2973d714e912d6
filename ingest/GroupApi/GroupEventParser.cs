using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Platform.Ingest.Events;
using Platform.ServiceDefaults.Contract;

namespace Platform.Ingest.GroupApi;

/// <summary>
/// Reads a Group API request body (one event object or an array of them) and validates every field rule and
/// limit in one pass over the UTF-8 bytes. Finds all problems rather than stopping at the first, so a client
/// can fix a batch in one round. Also computes each event's identity (its dedup key and event id).
/// </summary>
internal sealed class GroupEventParser(IOptions<GroupApiOptions> options, TimeProvider time)
{
    /// <summary>At most this many problems are listed in one 400; the rest are counted.</summary>
    public const int MaxListedErrors = 1_000;

    private readonly GroupApiOptions _limits = options.Value;
    private readonly TraitsReader _traits = new(options.Value);

    /// <summary>The traits reader, shared with the other ingestion endpoints so every event's traits follow one rule set.</summary>
    internal TraitsReader Traits => _traits;

    /// <summary>A fresh parse state for one request body, on this parser's clock and limits.</summary>
    internal ParseState NewState(string tenant) => new(_limits, tenant, time.GetUtcNow());

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
            // Checked before comparing: ValueTextEquals unescapes, and throws on a lone surrogate escape.
            var nameProblem = JsonStrings.Check(ref reader);
            var field = nameProblem is null ? ClassifyField(ref reader) : SeenFields.None;
            var name = field == SeenFields.None ? reader : default; // For the path of a problem in an ignored member.
            reader.Read();
            if (field == SeenFields.None)
            {
                // Unknown top-level fields are ignored, as other Group API implementations do; but their text is part
                // of the body, and a body that is not valid text is refused wherever the bad string sits.
                if (nameProblem is not null)
                {
                    state.AddError(index, "", JsonStrings.NameProblem(nameProblem));
                }
                else if (JsonStrings.CheckValue(reader) is { } fault)
                {
                    state.AddError(index, name.GetString() + fault.Path, fault.Message);
                }

                reader.Skip();
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
                    traits = _traits.Read(ref reader, index, state, out groupType);
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

        AddEvent(state, groupId, userId, timestamp, timestamp, messageId, traits, groupType, contextJson);
    }

    /// <summary>
    /// Adds a validated event with its identity: the one place every ingestion endpoint turns fields into a
    /// <see cref="GroupEvent"/>. <paramref name="identityTimestampMicros"/> is the time the content identity hashes
    /// (the time the client sent, where an endpoint corrects it before storing).
    /// </summary>
    internal static void AddEvent(
        ParseState state, string groupId, string userId, long timestampMicros, long identityTimestampMicros,
        string? messageId, TraitValue[] traits, string groupType, string? contextJson)
    {
        state.DistinctGroups.Add(groupId);
        CanonicalJsonWriter.WriteTraitsObject(traits, state.StartValue());
        var traitsJson = Encoding.UTF8.GetString(state.FinishValue());
        var key = EventIdentity.Compute(state.HashInput, state.Tenant, groupId, userId, identityTimestampMicros, messageId, traitsJson, contextJson);
        state.Outcome.Events.Add(new GroupEvent
        {
            EventId = EventIdentity.ToHex(key),
            Key = key,
            MessageId = messageId,
            GroupId = groupId,
            UserId = userId,
            TimestampMicros = timestampMicros,
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

    internal string? ReadId(ref Utf8JsonReader reader, int index, string field, ParseState state)
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

        if (JsonStrings.Check(ref reader) is { } problem)
        {
            state.AddError(index, field, problem);
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

    private static long ReadTimestamp(ref Utf8JsonReader reader, int index, ParseState state)
    {
        var micros = ReadTimestampText(ref reader, index, "timestamp", state);
        return micros is { } value && CheckNotAhead(value, index, "timestamp", state) ? value : 0;
    }

    /// <summary>An ISO 8601 date-time with a zone, in microseconds since the epoch; null when it is not one (the problem is recorded).</summary>
    internal static long? ReadTimestampText(ref Utf8JsonReader reader, int index, string field, ParseState state)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            state.AddError(index, field, "must be an ISO 8601 date-time string with a zone, e.g. 2023-12-14T16:07:33.571125Z");
            reader.Skip();
            return null;
        }

        if (JsonStrings.Check(ref reader) is { } textProblem)
        {
            state.AddError(index, field, textProblem);
            return null;
        }

        Span<byte> scratch = stackalloc byte[64];
        scoped ReadOnlySpan<byte> text;
        if (reader.ValueIsEscaped || reader.HasValueSequence)
        {
            if (reader.ValueSpan.Length > scratch.Length)
            {
                state.AddError(index, field, "must be an ISO 8601 date-time with a zone, e.g. 2023-12-14T16:07:33.571125Z");
                return null;
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
            state.AddError(index, field, problem);
            return null;
        }

        return micros;
    }

    /// <summary>False, with the problem recorded, when the event time lies further ahead of the receive time than allowed.</summary>
    internal static bool CheckNotAhead(long micros, int index, string field, ParseState state)
    {
        if (micros > state.LatestAcceptedMicros)
        {
            // Refused, not clamped: a clamped timestamp would be a time the client never sent, change the event's
            // identity and still let the skewed client win every merge up to the receive time.
            var ahead = TimeSpan.FromMicroseconds(micros - state.ReceivedMicros);
            state.AddError(index, field,
                $"is {ahead:c} ahead of the receive time {IsoTimestamp.Format(state.ReceivedMicros)}; at most {state.MaxFutureSkew:c} is allowed " +
                "(check the sender's clock, and that a local time is not sent as UTC)");
            return false;
        }

        return true;
    }

    internal string? ReadContext(ref Utf8JsonReader reader, int index, ParseState state, out string? contextGroupId)
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
        if (ScanContext(reader, out var groupIdValue, out var groupIdKind, out var groupIdProblem) == 0)
        {
            reader.Skip();
            return null;
        }

        if (groupIdProblem is not null)
        {
            state.AddError(index, "context.group_id", groupIdProblem);
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
        if (CanonicalJsonWriter.WriteValue(ref reader, writer) is { } fault)
        {
            state.AddError(index, "context" + fault.Path, fault.Message);
            return null;
        }

        var json = state.FinishValue();
        if (json.Length > _limits.MaxContextBytes)
        {
            state.AddError(index, "context", $"is larger than {_limits.MaxContextBytes} bytes");
            return null;
        }

        return Encoding.UTF8.GetString(json);
    }

    /// <summary>
    /// Counts the context object's members (on a copy of the reader) and finds its group_id: the last one, as a
    /// document lookup would, with its token kind (null when absent) and its text when it is a string (or the
    /// problem of that text when it is not valid). Names that are not valid text are not compared; writing the
    /// object reports them.
    /// </summary>
    private static int ScanContext(Utf8JsonReader reader, out string? groupId, out JsonTokenType? groupIdKind, out string? groupIdProblem)
    {
        groupId = null;
        groupIdKind = null;
        groupIdProblem = null;
        var members = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            members++;
            var isGroupId = JsonStrings.Check(ref reader) is null && reader.ValueTextEquals("group_id"u8);
            reader.Read();
            if (isGroupId)
            {
                groupIdKind = reader.TokenType;
                groupId = null;
                groupIdProblem = reader.TokenType == JsonTokenType.String ? JsonStrings.Check(ref reader) : null;
                if (reader.TokenType == JsonTokenType.String && groupIdProblem is null)
                {
                    groupId = reader.GetString();
                }
            }

            reader.Skip();
        }

        return members;
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
}
