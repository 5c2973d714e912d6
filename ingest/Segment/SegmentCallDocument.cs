using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Platform.Ingest.Segment;

// The Segment-spec request bodies as the OpenAPI document shows them. Never deserialized: SegmentParser reads the
// bytes in one pass; these types only describe what it accepts (README: "How a call becomes a group event").

/// <summary>A POST /v1/batch body.</summary>
public sealed class SegmentBatchDocument
{
    [JsonPropertyName("batch")]
    [Description("The calls; group calls are stored, calls of other types acknowledged and skipped")]
    public required IReadOnlyList<SegmentCallDocument> Batch { get; init; }

    [JsonPropertyName("context")]
    [Description("Merged into every call's context, the call's own members winning")]
    public JsonObject? Context { get; init; }

    [JsonPropertyName("sentAt")]
    [Description("The sender's clock when it sent the batch, for clock-skew correction")]
    public DateTimeOffset? SentAt { get; init; }

    [JsonPropertyName("writeKey")]
    [Description("The write key, read only when the request has no Authorization header")]
    public string? WriteKey { get; init; }
}

/// <summary>One Segment-spec call.</summary>
public sealed class SegmentCallDocument
{
    [JsonPropertyName("type")]
    [Description("group is stored; identify, track, page, screen and alias are acknowledged and skipped; required in a batch")]
    public string? Type { get; init; }

    [JsonPropertyName("groupId")]
    [Description("Required for group calls; a number is taken as its text")]
    public JsonNode? GroupId { get; init; }

    [JsonPropertyName("userId")]
    [Description("The user; a number is taken as its text")]
    public JsonNode? UserId { get; init; }

    [JsonPropertyName("anonymousId")]
    [Description("The user when there is no userId, stored with the Segment:AnonymousIdPrefix prefix")]
    public JsonNode? AnonymousId { get; init; }

    [JsonPropertyName("traits")]
    [Description("As the Group API's traits; group_type falls back to Segment:GroupTypeTrait, then Segment:DefaultGroupType")]
    public IDictionary<string, JsonElement>? Traits { get; init; }

    [JsonPropertyName("timestamp")]
    [Description("The sender's time of the call (or originalTimestamp); the receive time when absent")]
    public DateTimeOffset? Timestamp { get; init; }

    [JsonPropertyName("sentAt")]
    [Description("The sender's clock when it sent the call, for clock-skew correction")]
    public DateTimeOffset? SentAt { get; init; }

    [JsonPropertyName("context")]
    public JsonObject? Context { get; init; }

    [JsonPropertyName("messageId")]
    [Description("The event's identity (one namespace with message_id of /api/group)")]
    public string? MessageId { get; init; }
}
