using System.Security.Cryptography;
using System.Text;

namespace Platform.ServiceDefaults.Auth.WriteKeys;

/// <summary>
/// How a write key is made and stored. A key is 192 random bits, so a plain SHA-256 is a safe way to keep it:
/// a slow password hash guards low-entropy secrets, and guessing a key from its hash is out of reach.
/// </summary>
public static class WriteKeyHash
{
    /// <summary>The prefix of keys made here, so a key is recognisable in a secret scanner or a leaked log line.</summary>
    public const string Prefix = "wk_";

    /// <summary>A new random key.</summary>
    public static string NewKey() => Prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    /// <summary>The stored form of <paramref name="key"/>: lowercase hex SHA-256 of its UTF-8 bytes.</summary>
    public static string Of(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>The scopes a key may name.</summary>
    public static IReadOnlyList<string> KnownScopes => PlatformScopes.All;

    /// <summary>Whether a key may write for this tenant name (the rule tokens' tenants follow).</summary>
    public static bool IsValidTenant([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? tenant) =>
        tenant is not null && TokenClaims.Tenant([new System.Security.Claims.Claim("tenant", tenant)], "tenant") is not null;

    internal static bool IsHash(string? value) =>
        value is { Length: 64 } && value.All(char.IsAsciiHexDigit);
}
