using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Platform.Ingest.Events;
using Platform.Ingest.GroupApi;
using Platform.ServiceDefaults.Contract;

namespace Platform.Ingest.Segment;

/// <summary>
/// Reads Segment-spec bodies (<c>/v1/batch</c>'s <c>{"batch": [...]}</c> or one <c>/v1/group</c> call) in one pass
/// over the UTF-8 bytes and turns each group call into the Group API's event through the Group API parser's own
/// readers: ids, traits, context, timestamps, limits and identities follow exactly the rules of <c>/api/group</c>.
/// Only the field names, the group_type and user_id fallbacks and the clock-skew correction are Segment's.
/// </summary>
internal sealed class SegmentParser(GroupEventParser groups, IOptions<GroupApiOptions> limits, IOptions<SegmentOptions> options)
{
    private readonly GroupApiOptions _limits = limits.Value;
    private readonly SegmentOptions _options = options.Value;
    private readonly GroupTypeFallback _groupType = new(
        string.IsNullOrWhiteSpace(options.Value.GroupTypeTrait) ? null : options.Value.GroupTypeTrait, options.Value.DefaultGroupType);

    /// <param name="isBatch">A <c>/v1/batch</c> body; otherwise one group call (<c>/v1/group</c>).</param>
    public SegmentOutcome Parse(ReadOnlySpan<byte> body, string tenant, bool isBatch)
    {
        var outcome = new SegmentOutcome();
        using (var state = groups.NewState(tenant))
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions
            {
                MaxDepth = _limits.MaxJsonDepth,
                CommentHandling = JsonCommentHandling.Disallow,
                AllowTrailingCommas = false,
            });
            try
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    BodyError(outcome, "body", isBatch ? "must be a JSON object holding a batch array of calls" : "must be one JSON object (a group call)");
                }
                else if (isBatch)
                {
                    ParseBatch(ref reader, state, outcome);
                }
                else
                {
                    outcome.Calls = 1;
                    ParseCall(ref reader, 0, state, outcome, null, null, isBatch: false);
                }

                if (outcome.BodyErrors.Count == 0 && reader.Read())
                {
                    BodyError(outcome, "body", "has content after the JSON value");
                }
            }
            catch (JsonException ex)
            {
                outcome.BodyErrors.Clear();
                BodyError(outcome, "body", $"is not valid JSON: {ex.Message}");
            }

            if (state.DistinctGroups.Count > _limits.MaxGroupsPerRequest)
            {
                BodyError(outcome, "groupId", $"the request touches {state.DistinctGroups.Count} distinct groups; at most {_limits.MaxGroupsPerRequest} are allowed");
            }

            state.FinishKeepingValid();
            if (outcome.BodyErrors.Count == 0)
            {
                outcome.CallErrors.AddRange(state.Outcome.Errors);
                outcome.Groups.Events.AddRange(state.Outcome.Events);
                outcome.Groups.EventCount = outcome.Groups.Events.Count;
            }
        }

        return outcome;
    }

    private void ParseBatch(ref Utf8JsonReader reader, ParseState state, SegmentOutcome outcome)
    {
        // The batch's context and sentAt apply to every call, and may come after the batch: read them first, on a copy.
        var (batchContext, batchSentAt) = ScanBatchLevel(reader, state, outcome);
        if (outcome.BodyErrors.Count > 0)
        {
            reader.Skip();
            return;
        }

        var seenBatch = false;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            // Names are checked before comparing: ValueTextEquals unescapes, and throws on a lone surrogate escape.
            var isBatch = JsonStrings.Check(ref reader) is null && reader.ValueTextEquals("batch"u8);
            reader.Read();
            if (!isBatch)
            {
                reader.Skip();
                continue;
            }

            if (seenBatch)
            {
                BodyError(outcome, "batch", "appears more than once");
                reader.Skip();
                continue;
            }

            seenBatch = true;
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                BodyError(outcome, "batch", "must be an array of calls");
                reader.Skip();
                continue;
            }

            var index = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (index >= _limits.MaxEventsPerRequest)
                {
                    reader.Skip();
                }
                else if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ParseCall(ref reader, index, state, outcome, batchContext, batchSentAt, isBatch: true);
                }
                else
                {
                    state.AddError(index, "", "a call must be a JSON object");
                    outcome.Rejected++;
                    reader.Skip();
                }

                index++;
            }

            outcome.Calls = index;
            if (index > _limits.MaxEventsPerRequest)
            {
                BodyError(outcome, "batch", $"holds {index} calls; a request may hold at most {_limits.MaxEventsPerRequest}");
            }
        }

        if (!seenBatch)
        {
            BodyError(outcome, "batch", "is required: an array of calls");
        }
    }

    /// <summary>The batch-level context (canonical JSON) and sentAt, read on a copy of the reader at the body's start.</summary>
    private (string? Context, long? SentAt) ScanBatchLevel(Utf8JsonReader reader, ParseState state, SegmentOutcome outcome)
    {
        string? context = null;
        long? sentAt = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var field = JsonStrings.Check(ref reader) is not null ? null
                : reader.ValueTextEquals("context"u8) ? "context" : reader.ValueTextEquals("sentAt"u8) ? "sentAt" : null;
            reader.Read();
            if (field == "context" && reader.TokenType == JsonTokenType.StartObject)
            {
                if (CanonicalJsonWriter.WriteValue(ref reader, state.StartValue()) is { } fault)
                {
                    BodyError(outcome, "context" + fault.Path, fault.Message);
                    continue;
                }

                var json = state.FinishValue();
                if (json.Length > _limits.MaxContextBytes)
                {
                    BodyError(outcome, "context", $"is larger than {_limits.MaxContextBytes} bytes");
                    continue;
                }

                context = Encoding.UTF8.GetString(json);
            }
            else if (field == "sentAt" && reader.TokenType == JsonTokenType.String)
            {
                var micros = 0L;
                var problem = JsonStrings.Check(ref reader) ?? IsoTimestamp.TryParse(Encoding.UTF8.GetBytes(reader.GetString()!), out micros);
                if (problem is not null)
                {
                    BodyError(outcome, "sentAt", problem);
                    continue;
                }

                sentAt = micros;
            }
            else if (field is not null && reader.TokenType != JsonTokenType.Null)
            {
                BodyError(outcome, field, field == "context" ? "must be an object" : "must be an ISO 8601 date-time string with a zone");
                reader.Skip();
            }
            else
            {
                reader.Skip();
            }
        }

        return (context, sentAt);
    }

    private void ParseCall(
        ref Utf8JsonReader reader, int index, ParseState state, SegmentOutcome outcome, string? batchContext, long? batchSentAt, bool isBatch)
    {
        var errorsBefore = state.ErrorCount;
        var type = FindType(reader, out var typeProblem);
        if (typeProblem is not null || (type is null && isBatch) || (type is not null && type != "group" && !isBatch))
        {
            state.AddError(index, "type", typeProblem
                ?? (isBatch ? "is required (group, identify, track, page, screen, alias, ...)" : "must be \"group\" here; send calls of other types to /v1/batch"));
            outcome.Rejected++;
            reader.Skip();
            return;
        }

        if (type is not null && type != "group")
        {
            // Acknowledged, not stored: refusing it would make the SDK drop the group calls of the same batch.
            outcome.Skipped++;
            reader.Skip();
            return;
        }

        string? groupId = null, userId = null, anonymousId = null, messageId = null, contextJson = null, groupType = null;
        long? timestamp = null, originalTimestamp = null, sentAt = null;
        TraitValue[]? traits = null;
        var seen = Fields.None;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var field = JsonStrings.Check(ref reader) is null ? Classify(ref reader) : Fields.None;
            reader.Read();
            if (field is Fields.None or Fields.Type)
            {
                reader.Skip();
                continue;
            }

            if ((seen & field) != 0)
            {
                state.AddError(index, Name(field), "appears more than once");
                reader.Skip();
                continue;
            }

            seen |= field;
            if (reader.TokenType == JsonTokenType.Null && field != Fields.Traits)
            {
                continue;
            }

            switch (field)
            {
                case Fields.GroupId:
                    groupId = ReadId(ref reader, index, "groupId", state);
                    break;
                case Fields.UserId:
                    userId = ReadId(ref reader, index, "userId", state);
                    break;
                case Fields.AnonymousId:
                    anonymousId = ReadId(ref reader, index, "anonymousId", state);
                    break;
                case Fields.MessageId:
                    messageId = groups.ReadId(ref reader, index, "messageId", state);
                    break;
                case Fields.Traits:
                    if (reader.TokenType == JsonTokenType.Null)
                    {
                        seen &= ~Fields.Traits;
                    }
                    else
                    {
                        traits = groups.Traits.Read(ref reader, index, state, out groupType, _groupType);
                    }

                    break;
                case Fields.Context:
                    contextJson = groups.ReadContext(ref reader, index, state, out _);
                    break;
                case Fields.Timestamp:
                    timestamp = GroupEventParser.ReadTimestampText(ref reader, index, "timestamp", state);
                    break;
                case Fields.OriginalTimestamp:
                    originalTimestamp = GroupEventParser.ReadTimestampText(ref reader, index, "originalTimestamp", state);
                    break;
                case Fields.SentAt:
                    sentAt = GroupEventParser.ReadTimestampText(ref reader, index, "sentAt", state);
                    break;
            }
        }

        if (groupId is null && !state.HasErrorFor(index, "groupId", errorsBefore))
        {
            state.AddError(index, "groupId", "is required");
        }

        var user = userId;
        if (user is null && anonymousId is not null)
        {
            user = _options.AnonymousIdPrefix + anonymousId;
            if (Encoding.UTF8.GetByteCount(user) > _limits.MaxIdBytes)
            {
                state.AddError(index, "anonymousId", $"is longer than {_limits.MaxIdBytes} bytes with the prefix '{_options.AnonymousIdPrefix}'");
            }
        }
        else if (user is null && !state.HasErrorFor(index, "userId", errorsBefore) && !state.HasErrorFor(index, "anonymousId", errorsBefore))
        {
            state.AddError(index, "userId", "userId or anonymousId is required");
        }

        if ((seen & Fields.Traits) == 0 && state.ErrorCount == errorsBefore)
        {
            groupType = _options.DefaultGroupType;
            traits = TraitsReader.OnlyGroupType(state, groupType);
        }

        var sent = (seen & Fields.Timestamp) != 0 ? timestamp : originalTimestamp;
        var stored = state.ReceivedMicros;
        if (sent is { } clientTime)
        {
            stored = clientTime;
            if (_options.CorrectClockSkew && (sentAt ?? batchSentAt) is { } sentAtMicros)
            {
                // Segment's correction: the call is as old at receipt as it was when the SDK sent it.
                stored = state.ReceivedMicros - (sentAtMicros - clientTime);
            }
        }

        if (stored < 0)
        {
            state.AddError(index, "timestamp", "corrected by sentAt lies before 1970: sentAt is far later than timestamp");
        }

        if (state.ErrorCount > errorsBefore || groupId is null || user is null || traits is null || groupType is null
            || !GroupEventParser.CheckNotAhead(stored, index, "timestamp", state))
        {
            outcome.Rejected++;
            return;
        }

        if (batchContext is not null)
        {
            contextJson = MergeContext(batchContext, contextJson, state);
            if (Encoding.UTF8.GetByteCount(contextJson) > _limits.MaxContextBytes)
            {
                state.AddError(index, "context", $"merged with the batch's context is larger than {_limits.MaxContextBytes} bytes");
                outcome.Rejected++;
                return;
            }
        }

        // The identity hashes the time the client sent, not the corrected one, which differs on every resend.
        GroupEventParser.AddEvent(state, groupId, user, stored, sent ?? stored, messageId, traits, groupType, contextJson);
    }

    /// <summary>A string id as the Group API reads it, or a number's text (Segment SDKs accept numeric ids).</summary>
    private string? ReadId(ref Utf8JsonReader reader, int index, string field, ParseState state)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return Encoding.UTF8.GetString(reader.ValueSpan);
        }

        return groups.ReadId(ref reader, index, field, state);
    }

    /// <summary>The call's type, read on a copy of the reader (it may come last); null when absent.</summary>
    private static string? FindType(Utf8JsonReader reader, out string? problem)
    {
        problem = null;
        string? type = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var isType = JsonStrings.Check(ref reader) is null && reader.ValueTextEquals("type"u8);
            reader.Read();
            if (isType && reader.TokenType != JsonTokenType.Null)
            {
                if (reader.TokenType != JsonTokenType.String || JsonStrings.Check(ref reader) is not null)
                {
                    problem = "must be a string naming the call's type";
                    return null;
                }

                type = reader.GetString();
            }

            reader.Skip();
        }

        return type;
    }

    /// <summary>The batch's context with the call's own members laid over it (a call's value wins), sorted by name.</summary>
    private static string MergeContext(string batchContext, string? callContext, ParseState state)
    {
        if (callContext is null)
        {
            return batchContext;
        }

        using var batch = JsonDocument.Parse(batchContext);
        using var call = JsonDocument.Parse(callContext);
        var members = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var member in batch.RootElement.EnumerateObject())
        {
            members[member.Name] = member.Value;
        }

        foreach (var member in call.RootElement.EnumerateObject())
        {
            members[member.Name] = member.Value;
        }

        var writer = state.StartValue();
        writer.WriteStartObject();
        foreach (var (name, value) in members)
        {
            writer.WritePropertyName(name);
            value.WriteTo(writer);
        }

        writer.WriteEndObject();
        return Encoding.UTF8.GetString(state.FinishValue());
    }

    private static void BodyError(SegmentOutcome outcome, string field, string message) =>
        outcome.BodyErrors.Add(new ApiError(null, field, message));

    private static Fields Classify(ref Utf8JsonReader reader)
    {
        if (reader.ValueTextEquals("groupId"u8))
        {
            return Fields.GroupId;
        }

        if (reader.ValueTextEquals("userId"u8))
        {
            return Fields.UserId;
        }

        if (reader.ValueTextEquals("anonymousId"u8))
        {
            return Fields.AnonymousId;
        }

        if (reader.ValueTextEquals("traits"u8))
        {
            return Fields.Traits;
        }

        if (reader.ValueTextEquals("context"u8))
        {
            return Fields.Context;
        }

        if (reader.ValueTextEquals("timestamp"u8))
        {
            return Fields.Timestamp;
        }

        if (reader.ValueTextEquals("originalTimestamp"u8))
        {
            return Fields.OriginalTimestamp;
        }

        if (reader.ValueTextEquals("messageId"u8))
        {
            return Fields.MessageId;
        }

        if (reader.ValueTextEquals("sentAt"u8))
        {
            return Fields.SentAt;
        }

        return reader.ValueTextEquals("type"u8) ? Fields.Type : Fields.None;
    }

    private static string Name(Fields field) => field switch
    {
        Fields.GroupId => "groupId",
        Fields.UserId => "userId",
        Fields.AnonymousId => "anonymousId",
        Fields.Traits => "traits",
        Fields.Context => "context",
        Fields.Timestamp => "timestamp",
        Fields.OriginalTimestamp => "originalTimestamp",
        Fields.MessageId => "messageId",
        Fields.SentAt => "sentAt",
        _ => "",
    };

    [Flags]
    private enum Fields
    {
        None = 0,
        GroupId = 1,
        UserId = 2,
        AnonymousId = 4,
        Traits = 8,
        Context = 16,
        Timestamp = 32,
        OriginalTimestamp = 64,
        MessageId = 128,
        SentAt = 256,
        Type = 512,
    }
}
