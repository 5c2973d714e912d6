using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Ingest.Log;

/// <summary>Section "Log": ingest's write-ahead log, where a request's events are durable before it is answered.</summary>
internal sealed class IngestLogOptions
{
    public const string Section = "Log";

    /// <summary>Directory of the segment files and the checkpoint; relative to the content root. Created if missing. Must be on a persistent volume.</summary>
    [Required(ErrorMessage = "{0} must not be empty.")]
    [Path]
    public string Directory { get; set; } = "data/log";

    /// <summary>Unshipped bytes the log may hold. An append beyond it is refused (503 with Retry-After), never dropped.</summary>
    [Range(typeof(long), "1048576", "1099511627776", ErrorMessage = "{0} must be between 1 MiB (1048576) and 1 TiB (1099511627776) bytes.")]
    public long MaxBytes { get; set; } = 1L << 30;

    /// <summary>A segment file is closed and a new one started once it reaches this size; shipped segments are deleted whole.</summary>
    [Range(typeof(long), "65536", "4294967296", ErrorMessage = "{0} must be between 64 KiB (65536) and 4 GiB (4294967296) bytes.")]
    public long SegmentBytes { get; set; } = 64L << 20;

    public string ResolveDirectory(string contentRootPath) => System.IO.Path.GetFullPath(System.IO.Path.Combine(contentRootPath, Directory));
}

[OptionsValidator]
internal sealed partial class IngestLogOptionsValidator : IValidateOptions<IngestLogOptions>;

/// <summary>A segment fits the budget: space is freed a whole segment at a time.</summary>
internal sealed class IngestLogOptionsRules : IValidateOptions<IngestLogOptions>
{
    public ValidateOptionsResult Validate(string? name, IngestLogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.SegmentBytes > options.MaxBytes
            ? ValidateOptionsResult.Fail(
                $"{IngestLogOptions.Section}:{nameof(IngestLogOptions.SegmentBytes)} ({options.SegmentBytes}) must not exceed " +
                $"{IngestLogOptions.Section}:{nameof(IngestLogOptions.MaxBytes)} ({options.MaxBytes}): space is freed a whole segment at a time.")
            : ValidateOptionsResult.Success;
    }
}
