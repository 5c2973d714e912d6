using System.Security.Claims;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// Turns a validated token's claims into the platform's own: <see cref="PlatformClaims.Scope"/>
/// and <see cref="PlatformClaims.Tenant"/>. Pure functions over claims, so they are tested without a server.
/// </summary>
internal static class TokenClaims
{
    public const int MaxTenantLength = 128;

    private static readonly char[] ScopeSeparators = [' '];

    /// <summary>
    /// Every scope granted, distinct, in order of appearance: <c>scope</c> (space separated),
    /// <c>scp</c> (a string, space separated, or an array, which arrives as one claim per item) and
    /// audiences named in <paramref name="audienceScopes"/> (empty when the audience form is off).
    /// </summary>
    public static IReadOnlyList<string> GrantedScopes(IEnumerable<Claim> claims, IReadOnlyCollection<string> audienceScopes)
    {
        ArgumentNullException.ThrowIfNull(claims);
        var scopes = new List<string>();
        foreach (var claim in claims)
        {
            if (!IsJsonString(claim))
            {
                continue;
            }

            switch (claim.Type)
            {
                case "scope":
                case "scp":
                    foreach (var scope in claim.Value.Split(ScopeSeparators, StringSplitOptions.RemoveEmptyEntries))
                    {
                        AddOnce(scopes, scope);
                    }

                    break;
                case "aud" when audienceScopes.Contains(claim.Value, StringComparer.Ordinal):
                    AddOnce(scopes, claim.Value);
                    break;
                default:
                    break;
            }
        }

        return scopes;
    }

    /// <summary>
    /// The tenant named by <paramref name="tenantClaim"/>, or null when it is absent, repeated
    /// (an array), not a string, empty, longer than <see cref="MaxTenantLength"/>, or contains
    /// control characters: such a value would be ambiguous as a storage partition or in logs.
    /// </summary>
    public static string? Tenant(IEnumerable<Claim> claims, string tenantClaim)
    {
        ArgumentNullException.ThrowIfNull(claims);
        Claim? found = null;
        foreach (var claim in claims)
        {
            if (!string.Equals(claim.Type, tenantClaim, StringComparison.Ordinal))
            {
                continue;
            }

            if (found is not null)
            {
                return null;
            }

            found = claim;
        }

        if (found is null || !IsJsonString(found))
        {
            return null;
        }

        var tenant = found.Value;
        if (tenant.Length == 0 || tenant.Length > MaxTenantLength || string.IsNullOrWhiteSpace(tenant) || tenant.Any(char.IsControl))
        {
            return null;
        }

        return tenant;
    }

    /// <summary>
    /// Replaces whatever platform claims the token brought with the ones derived from it, so a
    /// token cannot grant itself a scope or a tenant by carrying <c>platform_*</c> claims.
    /// </summary>
    public static void Normalize(ClaimsPrincipal principal, string tenantClaim, IReadOnlyCollection<string> audienceScopes)
    {
        ArgumentNullException.ThrowIfNull(principal);
        if (principal.Identity is not ClaimsIdentity identity)
        {
            return;
        }

        // Read the sources before stripping, in case the tenant claim is configured as platform_tenant itself.
        var scopes = GrantedScopes(identity.Claims, audienceScopes);
        var tenant = Tenant(identity.Claims, tenantClaim);

        foreach (var each in principal.Identities)
        {
            foreach (var forged in each.Claims.Where(IsPlatformClaim).ToList())
            {
                each.RemoveClaim(forged);
            }
        }

        foreach (var scope in scopes)
        {
            identity.AddClaim(new Claim(PlatformClaims.Scope, scope, ClaimValueTypes.String, ClaimsIdentity.DefaultIssuer));
        }

        if (tenant is not null)
        {
            identity.AddClaim(new Claim(PlatformClaims.Tenant, tenant, ClaimValueTypes.String, ClaimsIdentity.DefaultIssuer));
        }
    }

    private static bool IsPlatformClaim(Claim claim) =>
        string.Equals(claim.Type, PlatformClaims.Scope, StringComparison.OrdinalIgnoreCase)
        || string.Equals(claim.Type, PlatformClaims.Tenant, StringComparison.OrdinalIgnoreCase);

    // JsonWebToken gives JSON strings the String type, or DateTime when the text looks like a date;
    // numbers, booleans and objects get other types and are never a scope or a tenant.
    private static bool IsJsonString(Claim claim) =>
        claim.ValueType is ClaimValueTypes.String or ClaimValueTypes.DateTime;

    private static void AddOnce(List<string> scopes, string scope)
    {
        if (!scopes.Contains(scope, StringComparer.Ordinal))
        {
            scopes.Add(scope);
        }
    }
}
