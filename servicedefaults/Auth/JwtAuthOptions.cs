using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Platform.ServiceDefaults.Hosting;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// How access tokens are validated, bound from the <c>Auth</c> section and checked at start (annotations, and
/// <see cref="JwtAuthOptionsRules"/> for what needs the host). Lists left empty in configuration get the documented
/// defaults after binding: the configuration binder appends to a pre-filled list, so defaults cannot be initial values.
/// </summary>
public sealed class JwtAuthOptions
{
    public const string Section = "Auth";

    /// <summary>Required: the <c>iss</c> every accepted token carries.</summary>
    [Required(ErrorMessage = "{0} is required: set it to the 'iss' value of the tokens this service accepts.")]
    public string? Issuer { get; set; }

    /// <summary>Accepted <c>aud</c> values; a token is accepted when any of its audiences is listed. Default <c>["platform"]</c>.</summary>
    [NoEmptyItems]
    public IList<string> Audiences { get; } = [];

    /// <summary>
    /// PEM files holding RSA or EC public keys (SPKI <c>PUBLIC KEY</c>, or <c>RSA PUBLIC KEY</c>).
    /// A key's id (<c>kid</c>) is its file name without extension. Relative paths are resolved
    /// against the content root.
    /// </summary>
    [NoEmptyItems]
    public IList<string> PublicKeyFiles { get; } = [];

    /// <summary>Optional OIDC authority; its discovery document's JWKS supplies signing keys (refreshed by JwtBearer).</summary>
    [HttpUrl]
    public string? Authority { get; set; }

    /// <summary>Refuse an <see cref="Authority"/> reached over plain HTTP. Default true.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>Allowed signing algorithms. Default <c>["RS256", "ES256"]</c>; only asymmetric ones are permitted, never <c>none</c> or HS*.</summary>
    [ItemsAllowed(
        SecurityAlgorithms.RsaSha256,
        SecurityAlgorithms.RsaSha384,
        SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.EcdsaSha256,
        SecurityAlgorithms.EcdsaSha384,
        SecurityAlgorithms.EcdsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256)]
    public IList<string> Algorithms { get; } = [];

    /// <summary>Tolerance for <c>exp</c> and <c>nbf</c>. Default 30 s, at most 5 min.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The claim naming the token's tenant. Default <c>tenant_id</c>.</summary>
    [Required(ErrorMessage = "{0} must name the claim that carries the tenant (default 'tenant_id').")]
    public string TenantClaim { get; set; } = "tenant_id";

    /// <summary>
    /// Accept an audience equal to one of <see cref="AudienceScopes"/> (<c>aud: "telemetry_apis"</c>) as both a valid
    /// audience and a grant of that scope: the reference API's own tokens look like that. Default true.
    /// </summary>
    public bool AcceptScopeAsAudience { get; set; } = true;

    /// <summary>
    /// The scopes an audience may grant when <see cref="AcceptScopeAsAudience"/> is on. Default the two ingest scopes the
    /// reference names, <c>["telemetry_apis", "group_api"]</c>: a token whose audience is <c>analytics_read</c> reads
    /// nothing unless a deployment lists that scope here, knowing that whoever mints tokens for that audience grants it.
    /// </summary>
    [ItemsAllowed(PlatformScopes.TelemetryApis, PlatformScopes.GroupApi, PlatformScopes.AnalyticsRead)]
    public IList<string> AudienceScopes { get; } = [];

    /// <summary>
    /// Where the Development environment keeps its generated signing key pair when neither
    /// <see cref="PublicKeyFiles"/> nor <see cref="Authority"/> is set. Relative to the content root.
    /// </summary>
    public string DevKeyDirectory { get; set; } = "data/dev-keys";

    /// <summary>
    /// How long a token that passed validation is accepted again without verifying it anew (never past its
    /// <c>exp</c>). This bounds how long a token signed by a key that has just been removed stays accepted.
    /// Default 1 minute; <c>00:00:00</c> turns the cache off. At most 10 minutes.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan TokenCacheMaxAge { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Validated tokens held at once (about 4 KB each); tokens beyond it are verified on every request. Default 10,000; 0 turns the cache off.</summary>
    [Range(0, 1_000_000)]
    public int TokenCacheMaxEntries { get; set; } = 10_000;

    internal bool HasTokenCache => TokenCacheMaxAge > TimeSpan.Zero && TokenCacheMaxEntries > 0;

    internal bool HasConfiguredKeys => PublicKeyFiles.Count > 0 || !string.IsNullOrWhiteSpace(Authority);

    /// <summary>The scopes an audience grants (and so the scope names accepted as audiences): none when the form is off.</summary>
    internal IReadOnlyCollection<string> ScopesGrantedByAudience => AcceptScopeAsAudience ? [.. AudienceScopes] : [];

    internal void ApplyDefaults()
    {
        if (Audiences.Count == 0)
        {
            Audiences.Add("platform");
        }

        if (AudienceScopes.Count == 0)
        {
            AudienceScopes.Add(PlatformScopes.TelemetryApis);
            AudienceScopes.Add(PlatformScopes.GroupApi);
        }

        if (Algorithms.Count == 0)
        {
            Algorithms.Add(SecurityAlgorithms.RsaSha256);
            Algorithms.Add(SecurityAlgorithms.EcdsaSha256);
        }
    }
}

[OptionsValidator]
internal sealed partial class JwtAuthOptionsValidator : IValidateOptions<JwtAuthOptions>;
