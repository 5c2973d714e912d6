using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Hosting;

namespace Platform.Gateway.Headers;

/// <summary>Which client headers never reach ingest. Section "Headers".</summary>
internal sealed class HeaderOptions
{
    public const string Section = "Headers";

    /// <summary>
    /// Headers removed from every proxied request before anything else sees them: anything that could pass for
    /// the gateway's own word (tenant, forwarding, identity, path or method overrides). Prefixes end with '-'.
    /// </summary>
    internal static readonly string[] BuiltInPrefixes = ["X-Platform-", "X-Forwarded-", "X-Tenant-"];

    internal static readonly string[] BuiltInNames =
    [
        "X-Tenant", "Forwarded", "X-Real-IP", "X-Client-IP", "X-Original-For", "X-Original-Host", "X-Original-Proto",
        "X-Original-URL", "X-Rewrite-URL", "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
        "X-User-Id", "X-Remote-User", "Remote-User", "X-Authenticated-User", "X-Auth-Request-User", "X-Auth-Request-Email",
    ];

    /// <summary>More headers to remove, in addition to the built-in list (names, case-insensitive).</summary>
    [NoEmptyItems]
    public IList<string> AlsoStrip { get; } = [];

    /// <summary>The request id header the gateway sets (replacing a client's) and returns on the response.</summary>
    [Required]
    [RegularExpression("^[!-9;-~]+$", ErrorMessage = "{0} must be a header name: visible ASCII characters other than ':'.")]
    public string RequestIdHeader { get; set; } = "X-Request-Id";
}

[OptionsValidator]
internal sealed partial class HeaderOptionsValidator : IValidateOptions<HeaderOptions>;
