using System.ComponentModel;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Platform.Ingest.Query;

// The query API's answers. Field names are spelled out (snake_case, as the contract's other answers), so neither the
// application's JSON options nor the OpenAPI document's naming can change them. Times are UTC ISO 8601 with six
// fraction digits; trait values are the JSON values that were sent.

/// <summary>A group's merged profile.</summary>
internal sealed record GroupProfileResponse(
    [property: JsonPropertyName("group_id")] string GroupId,
    [property: JsonPropertyName("group_type"), Description("The current value of the group_type trait")] JsonNode? GroupType,
    [property: JsonPropertyName("traits"), Description("Every current trait by name (cleared traits are absent)")] JsonObject Traits,
    [property: JsonPropertyName("member_count"), Description("Distinct users that were ever members")] long MemberCount,
    [property: JsonPropertyName("first_seen"), Description("The earliest event timestamp")] string FirstSeen,
    [property: JsonPropertyName("last_seen"), Description("The latest event timestamp")] string LastSeen);

/// <summary>One page of a listing; <c>next_cursor</c> is null on the last page.</summary>
internal sealed record Page<T>(
    [property: JsonPropertyName("items")] IReadOnlyList<T> Items,
    [property: JsonPropertyName("next_cursor"), Description("Pass as cursor for the next page; null on the last page")] string? NextCursor);

/// <summary>A user of a group.</summary>
internal sealed record GroupMember(
    [property: JsonPropertyName("user_id")] string UserId,
    [property: JsonPropertyName("first_seen")] string FirstSeen,
    [property: JsonPropertyName("last_seen")] string LastSeen);

/// <summary>A group of a user.</summary>
internal sealed record UserMembership(
    [property: JsonPropertyName("group_id")] string GroupId,
    [property: JsonPropertyName("first_seen")] string FirstSeen,
    [property: JsonPropertyName("last_seen")] string LastSeen);

/// <summary>A group matching the filters, with its current traits.</summary>
internal sealed record GroupListing(
    [property: JsonPropertyName("group_id")] string GroupId,
    [property: JsonPropertyName("group_type")] JsonNode? GroupType,
    [property: JsonPropertyName("traits")] JsonObject Traits);

/// <summary>Groups counted by a trait's current value.</summary>
internal sealed record TraitCountsResponse(
    [property: JsonPropertyName("trait")] string Trait,
    [property: JsonPropertyName("buckets"), Description("The most common values, most groups first")] IReadOnlyList<TraitValueCount> Buckets,
    [property: JsonPropertyName("other"), Description("Groups holding any other value")] long Other,
    [property: JsonPropertyName("missing"), Description("Groups without a value")] long Missing);

internal sealed record TraitValueCount(
    [property: JsonPropertyName("value")] JsonNode? Value,
    [property: JsonPropertyName("groups")] long Groups);

/// <summary>Every stored change of one trait of one group, oldest first, one page of it.</summary>
internal sealed record TraitHistoryResponse(
    [property: JsonPropertyName("group_id")] string GroupId,
    [property: JsonPropertyName("trait")] string Trait,
    [property: JsonPropertyName("items")] IReadOnlyList<TraitChangeItem> Items,
    [property: JsonPropertyName("next_cursor")] string? NextCursor);

internal sealed record TraitChangeItem(
    [property: JsonPropertyName("value"), Description("The value set; null when the change cleared the trait")] JsonNode? Value,
    [property: JsonPropertyName("cleared")] bool Cleared,
    [property: JsonPropertyName("timestamp")] string Timestamp,
    [property: JsonPropertyName("event_id")] string EventId);
