using System.ComponentModel.DataAnnotations;
using Platform.Ingest.Events;
using Microsoft.Extensions.Options;

namespace Platform.Ingest.GroupApi;

/// <summary>Limits of one <c>POST /api/group</c> request. Section "GroupApi". Every breach is a 400.</summary>
internal sealed class GroupApiOptions
{
    public const string Section = "GroupApi";

    /// <summary>Events in one request (the reference's limit).</summary>
    [Range(1, 100_000)]
    public int MaxEventsPerRequest { get; set; } = 1_000;

    /// <summary>Request body size in bytes, after gzip decompression: 2 MB = 2,097,152 bytes.</summary>
    [Range(1_024, 64 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>Distinct group ids in one request (the reference's batching guidance).</summary>
    [Range(1, 100_000)]
    public int MaxGroupsPerRequest { get; set; } = 100;

    /// <summary>Length of group_id, user_id and message_id, in UTF-8 bytes.</summary>
    [Range(1, 4_096)]
    public int MaxIdBytes { get; set; } = 256;

    /// <summary>Traits in one event.</summary>
    [Range(1, 10_000)]
    public int MaxTraitsPerEvent { get; set; } = 200;

    /// <summary>Length of a trait key, in UTF-8 bytes.</summary>
    [Range(1, 4_096)]
    public int MaxTraitKeyBytes { get; set; } = 128;

    /// <summary>Size of one trait value as minified JSON, in bytes.</summary>
    [Range(16, 2 * 1024 * 1024)]
    public int MaxTraitValueBytes { get; set; } = 32 * 1024;

    /// <summary>Size of one event's context object as minified JSON, in bytes.</summary>
    [Range(16, 2 * 1024 * 1024)]
    public int MaxContextBytes { get; set; } = 32 * 1024;

    /// <summary>
    /// How far ahead of the receive time an event's timestamp may lie; later ones are refused (400), not clamped.
    /// The latest timestamp wins the trait merge, so a client clock running ahead would pin its values against every
    /// correct event for as long as it is ahead. Minutes cover NTP-less devices and batching SDKs; an hour or more
    /// is a wrong zone (local time sent with a <c>Z</c>), not skew, so the setting stops there.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Nesting depth of the JSON body (the array, the event, and values inside traits and context).</summary>
    [Range(4, 256)]
    public int MaxJsonDepth { get; set; } = 32;
}

[OptionsValidator]
internal sealed partial class GroupApiOptionsValidator : IValidateOptions<GroupApiOptions>;
