using System.Security.Claims;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// The claims the platform derives from a validated token. Only these are trusted downstream:
/// tokens' own claims of these types are removed before they are added.
/// </summary>
public static class PlatformClaims
{
    /// <summary>One claim per granted scope.</summary>
    public const string Scope = "platform_scope";

    /// <summary>The tenant the token acts for; absent when the token names no usable tenant.</summary>
    public const string Tenant = "platform_tenant";

    /// <summary>The caller's tenant, or null when the token carried no usable tenant.</summary>
    public static string? GetTenant(this ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return user.FindFirst(Tenant)?.Value;
    }

    /// <summary>Whether the token granted <paramref name="scope"/> (from <c>scope</c>, <c>scp</c> or a scope-named audience).</summary>
    public static bool HasScope(this ClaimsPrincipal user, string scope)
    {
        ArgumentNullException.ThrowIfNull(user);
        return user.HasClaim(Scope, scope);
    }
}
