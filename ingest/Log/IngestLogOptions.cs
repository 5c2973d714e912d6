using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Platform.Ingest.Log;

/// <summary>Section "Log": ingest's write-ahead log, where a request's events are durable before it is answered.</summary>
internal sealed class IngestLogOptions
{
    public const string Section = "Log";

    /// <summary>Directory of the segment files and the checkpoint; relative to the content root. Created if missing. Must be on a persistent volume.</summary>
    public string Directory { get; set; } = "data/log";

    /// <summary>Unshipped bytes the log may hold. An append beyond it is refused (503 with Retry-After), never dropped.</summary>
    [Range(typeof(long), "1048576", "1099511627776", ErrorMessage = "must be between 1 MiB (1048576) and 1 TiB (1099511627776) bytes")]
    public long MaxBytes { get; set; } = 1L << 30;

    /// <summary>A segment file is closed and a new one started once it reaches this size; shipped segments are deleted whole.</summary>
    [Range(typeof(long), "65536", "4294967296", ErrorMessage = "must be between 64 KiB (65536) and 4 GiB (4294967296) bytes")]
    public long SegmentBytes { get; set; } = 64L << 20;

    public string ResolveDirectory(string contentRootPath) => Path.GetFullPath(Path.Combine(contentRootPath, Directory));
}

/// <summary>What data annotations cannot say: the directory is a path, and a segment fits the budget.</summary>
internal sealed class IngestLogOptionsValidator : IValidateOptions<IngestLogOptions>
{
    public ValidateOptionsResult Validate(string? name, IngestLogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Directory))
        {
            failures.Add($"{IngestLogOptions.Section}:{nameof(IngestLogOptions.Directory)} must not be empty.");
        }
        else if (options.Directory.AsSpan().IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            failures.Add($"{IngestLogOptions.Section}:{nameof(IngestLogOptions.Directory)} contains characters that are not valid in a path.");
        }

        if (options.SegmentBytes > options.MaxBytes)
        {
            failures.Add(
                $"{IngestLogOptions.Section}:{nameof(IngestLogOptions.SegmentBytes)} ({options.SegmentBytes}) must not exceed " +
                $"{IngestLogOptions.Section}:{nameof(IngestLogOptions.MaxBytes)} ({options.MaxBytes}): space is freed a whole segment at a time.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
