using Platform.Gateway.Hosting;

namespace Platform.Gateway.BodyLimit;

/// <summary>The request body cap enforced before anything reaches ingest. Section "BodyLimit".</summary>
internal sealed class BodyLimitOptions : IValidatedOptions
{
    public const string Section = "BodyLimit";

    /// <summary>
    /// Bytes on the wire (compressed bodies are counted compressed; ingest checks the decompressed size).
    /// Default 2 MB = 2,097,152 bytes, the API's limit.
    /// </summary>
    public long MaxBodyBytes { get; set; } = 2 * 1024 * 1024;

    public IEnumerable<string> Problems()
    {
        if (MaxBodyBytes is < 1_024 or > 1L << 30)
        {
            yield return $"{Section}:MaxBodyBytes must be between 1024 and 1073741824 bytes (got {MaxBodyBytes}).";
        }
    }
}
