using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Platform.Ingest.Segment;

/// <summary>How Segment-spec calls become group events (<c>Segment</c> section). See the README's mapping table.</summary>
internal sealed class SegmentOptions
{
    public const string Section = "Segment";

    /// <summary>The group_type of a call whose traits carry neither <c>group_type</c> nor <see cref="GroupTypeTrait"/>.</summary>
    [Required(AllowEmptyStrings = false)]
    [MaxLength(256)]
    public string DefaultGroupType { get; set; } = "Account";

    /// <summary>A trait read as the group_type when the call has no <c>group_type</c> trait (e.g. <c>type</c>); none by default.</summary>
    [MaxLength(128)]
    public string? GroupTypeTrait { get; set; }

    /// <summary>
    /// Prefix of the user_id made from <c>anonymousId</c> when a call has no <c>userId</c>, so an anonymous id can never
    /// be taken for (or merge with) a known user's id. Empty stores the anonymousId as it is.
    /// </summary>
    [MaxLength(64)]
    public string AnonymousIdPrefix { get; set; } = "anonymous:";

    /// <summary>
    /// Correct the sender's clock as Segment does: with <c>sentAt</c>, the stored time is
    /// receivedAt − (sentAt − timestamp). Default true.
    /// </summary>
    public bool CorrectClockSkew { get; set; } = true;
}

[OptionsValidator]
internal sealed partial class SegmentOptionsValidator : IValidateOptions<SegmentOptions>;
