using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Platform.ServiceDefaults.Auth;

/// <summary>Turns <see cref="JwtAuthOptions"/> into the JwtBearer scheme's settings and signing keys.</summary>
internal sealed class ConfigureJwtBearer(
    IOptions<JwtAuthOptions> authOptions,
    IHostEnvironment environment,
    TimeProvider time,
    ILogger<ConfigureJwtBearer> logger) : IConfigureNamedOptions<JwtBearerOptions>
{
    public void Configure(JwtBearerOptions options) => Configure(Options.DefaultName, options);

    public void Configure(string? name, JwtBearerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (name != JwtBearerDefaults.AuthenticationScheme)
        {
            return;
        }

        var auth = authOptions.Value;

        if (auth.HasTokenCache)
        {
            options.TokenHandlers.Clear();
            options.TokenHandlers.Add(new CachingJsonWebTokenHandler(new ValidatedTokenCache(auth.TokenCacheMaxEntries, auth.TokenCacheMaxAge, time)));
        }

        // Keep claim names as the token spells them (scope, scp, tenant_id), not WS-* URIs (applies to the handlers above).
        options.MapInboundClaims = false;
        options.IncludeErrorDetails = false;
        if (!string.IsNullOrWhiteSpace(auth.Authority))
        {
            options.Authority = auth.Authority;
            options.RequireHttpsMetadata = auth.RequireHttpsMetadata;
        }

        var audiences = auth.Audiences.Concat(auth.ScopesGrantedByAudience);
        options.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidIssuer = auth.Issuer,
            ValidateAudience = true,
            ValidAudiences = audiences.Distinct(StringComparer.Ordinal).ToArray(),
            ValidAlgorithms = auth.Algorithms.ToArray(),
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ClockSkew = auth.ClockSkew,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            IssuerSigningKeys = LoadKeys(auth),
            IssuerSigningKeyResolverUsingConfiguration = ResolveSigningKeys,

            // Without this, a token naming an unknown kid would still be checked against every key.
            TryAllIssuerSigningKeys = false,
            NameClaimType = JwtRegisteredClaimNames.Sub,
        };
        options.Events = new PlatformJwtBearerEvents(auth);
    }

    /// <summary>
    /// The keys a token may be verified with: the one whose id matches the token's <c>kid</c>, or
    /// every key when the token names none. Configured files and the authority's JWKS both count.
    /// Only asymmetric keys are offered, so no key can ever serve as an HMAC secret.
    /// </summary>
    internal static IEnumerable<SecurityKey> ResolveSigningKeys(
        string token,
        SecurityToken securityToken,
        string kid,
        TokenValidationParameters parameters,
        BaseConfiguration? configuration)
    {
        var candidates = (parameters.IssuerSigningKeys ?? []).Concat(configuration?.SigningKeys ?? []).Where(IsAsymmetric);
        return string.IsNullOrEmpty(kid)
            ? candidates.ToList()
            : candidates.Where(key => string.Equals(key.KeyId, kid, StringComparison.Ordinal)).ToList();
    }

    private static bool IsAsymmetric(SecurityKey key) =>
        key is AsymmetricSecurityKey || key is JsonWebKey { Kty: JsonWebAlgorithmsKeyTypes.RSA or JsonWebAlgorithmsKeyTypes.EllipticCurve };

    private List<SecurityKey> LoadKeys(JwtAuthOptions auth)
    {
        var keys = auth.PublicKeyFiles
            .Select(file => PublicKeyPem.Load(Path.GetFullPath(file, environment.ContentRootPath)))
            .ToList();
        if (auth.HasConfiguredKeys)
        {
            return keys;
        }

        // The validator has already refused this outside Development.
        var directory = Path.GetFullPath(auth.DevKeyDirectory, environment.ContentRootPath);
        var created = DevelopmentKeys.EnsureKeyPair(directory);
        logger.LogWarning(
            "Auth: neither Auth:PublicKeyFiles nor Auth:Authority is set; accepting tokens signed by the {State} development key in {Directory} " +
            "(Development only). Mint one with: dotnet run --project devtoken -- --tenant <tenant>",
            created ? "new" : "existing",
            directory);
        keys.Add(PublicKeyPem.Load(Path.Combine(directory, DevelopmentKeys.PublicKeyFileName)));
        return keys;
    }
}
