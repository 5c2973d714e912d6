using System.Text.Json.Serialization;

namespace Platform.ServiceDefaults.Contract;

/// <summary>
/// The one response body of the public API: success, response_id and message always;
/// counts on success; every problem found on a 400.
/// </summary>
public sealed class ApiResponse
{
    [JsonPropertyName("success")]
    public required bool Success { get; init; }

    [JsonPropertyName("response_id")]
    public required string ResponseId { get; init; }

    [JsonPropertyName("message")]
    public required string Message { get; init; }

    /// <summary>Events stored by this request (new ones).</summary>
    [JsonPropertyName("accepted")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Accepted { get; init; }

    /// <summary>Events recognised as already stored (retries); not stored again.</summary>
    [JsonPropertyName("duplicates")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Duplicates { get; init; }

    /// <summary>Calls acknowledged without being stored: Segment-spec calls of other types than group.</summary>
    [JsonPropertyName("skipped")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Skipped { get; init; }

    /// <summary>Invalid calls not stored while the request's other calls were (Segment-spec endpoints; listed in errors).</summary>
    [JsonPropertyName("rejected")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Rejected { get; init; }

    [JsonPropertyName("errors")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ApiError>? Errors { get; init; }
}

/// <summary>
/// One problem with a request. <see cref="Index"/> is the event's position in the batch,
/// absent for problems with the request as a whole (size, encoding, JSON syntax).
/// </summary>
public sealed record ApiError(
    [property: JsonPropertyName("index"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Index,
    [property: JsonPropertyName("field")] string Field,
    [property: JsonPropertyName("message")] string Message);

[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(ApiResponse))]
internal sealed partial class ContractJsonContext : JsonSerializerContext;
