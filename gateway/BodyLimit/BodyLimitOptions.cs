using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Platform.Gateway.BodyLimit;

/// <summary>The request body cap enforced before anything reaches ingest. Section "BodyLimit".</summary>
internal sealed class BodyLimitOptions
{
    public const string Section = "BodyLimit";

    /// <summary>
    /// Bytes on the wire (compressed bodies are counted compressed; ingest checks the decompressed size).
    /// Default 2 MB = 2,097,152 bytes, the API's limit.
    /// </summary>
    [Range(typeof(long), "1024", "1073741824")]
    public long MaxBodyBytes { get; set; } = 2 * 1024 * 1024;
}

[OptionsValidator]
internal sealed partial class BodyLimitOptionsValidator : IValidateOptions<BodyLimitOptions>;
