using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Platform.Ingest.GroupApi;

// The request body of POST /api/group as the OpenAPI document shows it. Never deserialized: GroupEventParser reads
// bodies in one pass over the bytes (the hot path), and these types only describe what it accepts. The OpenAPI test
// posts the document's example to the real service, so a rule changed in the parser and not here shows up there.

/// <summary>One group event.</summary>
public sealed class GroupEventDocument
{
    [JsonPropertyName("group_id")]
    [Description("Required non-empty string (at most GroupApi:MaxIdBytes UTF-8 bytes); read from context.group_id when absent here")]
    public string? GroupId { get; init; }

    [JsonPropertyName("user_id")]
    [Description("Required non-empty string (at most GroupApi:MaxIdBytes UTF-8 bytes)")]
    public required string UserId { get; init; }

    [JsonPropertyName("timestamp")]
    [Description("ISO 8601 date-time with a zone (Z, +02:00, +0200, +02); stored in UTC to the microsecond; at most GroupApi:MaxFutureSkew ahead")]
    public required DateTimeOffset Timestamp { get; init; }

    [JsonPropertyName("traits")]
    public required GroupTraitsDocument Traits { get; init; }

    [JsonPropertyName("context")]
    [Description("Optional object, stored with the event")]
    public JsonObject? Context { get; init; }

    [JsonPropertyName("message_id")]
    [Description("Optional idempotency key (also read as messageId); without it the event's identity is a hash of its content")]
    public string? MessageId { get; init; }
}

/// <summary>
/// The group's traits: group_type is required; the reference's traits are type-checked (enrichment_founder_year and
/// enrichment_employees integers, enrichment_domain_aliases, enrichment_phone_numbers, enrichment_email_addresses,
/// enrichment_tags and enrichment_tech_categories arrays of strings, the others strings); any other trait takes any
/// JSON value; null clears a trait.
/// </summary>
public sealed class GroupTraitsDocument
{
    [JsonPropertyName("group_type")]
    [Description("Non-empty string, e.g. Account or Team")]
    public required string GroupType { get; init; }

    [JsonExtensionData]
    public IDictionary<string, JsonElement>? Other { get; init; }
}
