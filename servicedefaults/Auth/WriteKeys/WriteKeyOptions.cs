using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Hosting;

namespace Platform.ServiceDefaults.Auth.WriteKeys;

/// <summary>
/// Write keys, the credential of Segment-compatible SDKs, bound from the <c>WriteKeys</c> section (both services read
/// it alike). Only each key's SHA-256 is configured, never the key: a leaked configuration grants nothing. Keys are
/// named so several can be live for one tenant while one replaces another.
/// </summary>
public sealed class WriteKeyOptions
{
    public const string Section = "WriteKeys";

    /// <summary>The configured keys by name (a label for logs and rotation; the key itself is secret).</summary>
    public IDictionary<string, WriteKeyEntry> Keys { get; } = new Dictionary<string, WriteKeyEntry>(StringComparer.Ordinal);

    /// <summary>
    /// A JSON file holding a <c>WriteKeys</c> section (e.g. a mounted Kubernetes Secret), read at start and again
    /// whenever it changes, so keys are added and revoked without a restart. Relative to the content root. A missing
    /// file stops the service, except in Development, where it may be created later (<c>ingest write-key --save</c>).
    /// </summary>
    public string? File { get; set; }

    /// <summary>
    /// A request without an Authorization header may carry its key as the body's top-level <c>writeKey</c>; bodies
    /// larger than this (decompressed) are not searched. Default 2 MB, the body cap.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int MaxBodyScanBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>Checks keys read from elsewhere (the key file) as the start checks the section's.</summary>
    internal static ValidateOptionsResult ValidateKeys(WriteKeyOptions keys) =>
        SectionOptions.Validate<WriteKeyOptions, WriteKeyOptionsValidator>(Section, keys, new WriteKeyOptionsRules());
}

/// <summary>One write key: who it writes for and what it may do.</summary>
public sealed class WriteKeyEntry
{
    /// <summary>Lowercase hex SHA-256 of the key's UTF-8 bytes (what <c>ingest write-key</c> prints).</summary>
    public string? Sha256 { get; set; }

    /// <summary>The one tenant the key writes into.</summary>
    public string? Tenant { get; set; }

    /// <summary>Scopes the key grants; empty means <c>group_api</c>. Only ingest scopes mean anything: reads need a JWT.</summary>
    public IList<string> Scopes { get; } = [];

    /// <summary>A revoked key is refused with 401 naming the revocation (kept so the answer says why, not "unknown").</summary>
    public bool Revoked { get; set; }
}

[OptionsValidator]
internal sealed partial class WriteKeyOptionsValidator : IValidateOptions<WriteKeyOptions>;
