using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// FOR LOCAL DEVELOPMENT ONLY: an ES256 signing key pair kept in a directory, and tokens signed
/// with it, so a fresh clone can send its first event without an identity provider. Services only
/// trust this key in the Development environment, when no other key is configured.
/// </summary>
public static class DevelopmentKeys
{
    /// <summary>The key id in minted tokens' headers; it matches the public key's file name.</summary>
    public const string KeyId = "dev";

    /// <summary>PKCS#8 private key, mode 0600 on Unix.</summary>
    public const string PrivateKeyFileName = "dev.key.pem";

    /// <summary>SPKI public key, what a service verifies with.</summary>
    public const string PublicKeyFileName = "dev.pem";

    /// <summary>The issuer devtoken writes by default; a development service's <c>Auth:Issuer</c> must match.</summary>
    public const string DefaultIssuer = "platform-dev";

    /// <summary>
    /// Creates the key pair in <paramref name="directory"/> unless it exists. Returns true when a
    /// new private key was created. Safe against a concurrent caller (a service starting while
    /// devtoken runs): the private key file is never replaced, and the public file is always
    /// derived from it, so the two can never disagree.
    /// </summary>
    public static bool EnsureKeyPair(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        CreatePrivateDirectory(directory);

        var privatePath = Path.Combine(directory, PrivateKeyFileName);
        var created = false;
        if (!File.Exists(privatePath))
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            created = TryCreateFile(privatePath, key.ExportPkcs8PrivateKeyPem() + "\n", ownerOnly: true);
        }

        using var privateKey = LoadPrivateKey(directory);
        var publicPem = privateKey.ExportSubjectPublicKeyInfoPem() + "\n";
        var publicPath = Path.Combine(directory, PublicKeyFileName);
        if (!File.Exists(publicPath) || File.ReadAllText(publicPath) != publicPem)
        {
            var temporary = TemporaryPath(publicPath);
            File.WriteAllText(temporary, publicPem);
            File.Move(temporary, publicPath, overwrite: true);
        }

        return created;
    }

    /// <summary>
    /// A token signed with the development key (ES256, kid <see cref="KeyId"/>), carrying <c>scope</c>
    /// (space separated, omitted when empty), <c>jti</c>, <c>iat</c>/<c>nbf</c>/<c>exp</c>, and the
    /// tenant under <paramref name="tenantClaim"/> (no tenant claim when it is null).
    /// </summary>
    /// <exception cref="FileNotFoundException">The directory has no key pair; call <see cref="EnsureKeyPair"/> first.</exception>
    public static string MintToken(
        string directory,
        string issuer,
        string audience,
        string tenant,
        IEnumerable<string> scopes,
        TimeSpan lifetime,
        string? tenantClaim = "tenant_id")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(issuer);
        ArgumentException.ThrowIfNullOrWhiteSpace(audience);
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(scopes);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lifetime, TimeSpan.Zero);

        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
        };
        var scope = string.Join(' ', scopes);
        if (scope.Length > 0)
        {
            claims["scope"] = scope;
        }

        if (tenantClaim is not null)
        {
            claims[tenantClaim] = tenant;
        }

        using var ecdsa = LoadPrivateKey(directory);
        var key = new ECDsaSecurityKey(ecdsa)
        {
            KeyId = KeyId,

            // The ECDsa is disposed below; a cached signature provider would outlive it.
            CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false },
        };
        var now = DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Claims = claims,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    private static ECDsa LoadPrivateKey(string directory)
    {
        var path = Path.Combine(directory, PrivateKeyFileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No development key pair in {directory}; create one with DevelopmentKeys.EnsureKeyPair.", path);
        }

        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(File.ReadAllText(path));
            return ecdsa;
        }
        catch
        {
            ecdsa.Dispose();
            throw;
        }
    }

    private static void CreatePrivateDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Writes a new file atomically; false when another writer created it first (theirs is kept).</summary>
    private static bool TryCreateFile(string path, string content, bool ownerOnly)
    {
        var temporary = TemporaryPath(path);
        var streamOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (ownerOnly && !OperatingSystem.IsWindows())
        {
            streamOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(temporary, System.Text.Encoding.ASCII, streamOptions))
        {
            writer.Write(content);
        }

        try
        {
            File.Move(temporary, path, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
            return false;
        }
    }

    private static string TemporaryPath(string path) => $"{path}.{Guid.NewGuid():N}.tmp";
}
