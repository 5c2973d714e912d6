using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Platform.Tests.Auth;

/// <summary>
/// An RSA 2048 and an EC P-256 key written as public-key PEM files into a temporary directory
/// (their key ids are the file names), plus a stranger key no service is told about.
/// </summary>
internal sealed class TestSigningKeys : IDisposable
{
    public const string RsaKeyId = "rsa-test";
    public const string EcKeyId = "ec-test";

    public TestSigningKeys()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("platform-auth-").FullName;
        Rsa = RSA.Create(2048);
        Ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Stranger = RSA.Create(2048);
        RsaPublicPem = Rsa.ExportSubjectPublicKeyInfoPem();
        RsaPublicKeyFile = Path.Combine(Directory, $"{RsaKeyId}.pem");
        EcPublicKeyFile = Path.Combine(Directory, $"{EcKeyId}.pem");
        File.WriteAllText(RsaPublicKeyFile, RsaPublicPem);
        File.WriteAllText(EcPublicKeyFile, Ec.ExportSubjectPublicKeyInfoPem());
    }

    public string Directory { get; }

    public RSA Rsa { get; }

    public ECDsa Ec { get; }

    /// <summary>A key nobody trusts.</summary>
    public RSA Stranger { get; }

    public string RsaPublicPem { get; }

    public string RsaPublicKeyFile { get; }

    public string EcPublicKeyFile { get; }

    public SigningCredentials RsaCredentials(string? keyId = RsaKeyId, string algorithm = SecurityAlgorithms.RsaSha256) =>
        Credentials(new RsaSecurityKey(Rsa) { KeyId = keyId }, algorithm);

    public SigningCredentials EcCredentials(string? keyId = EcKeyId) =>
        Credentials(new ECDsaSecurityKey(Ec) { KeyId = keyId }, SecurityAlgorithms.EcdsaSha256);

    public SigningCredentials StrangerCredentials(string keyId) =>
        Credentials(new RsaSecurityKey(Stranger) { KeyId = keyId }, SecurityAlgorithms.RsaSha256);

    public void Dispose()
    {
        Rsa.Dispose();
        Ec.Dispose();
        Stranger.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    internal static SigningCredentials Credentials(SecurityKey key, string algorithm)
    {
        // Signature providers are cached by key material; an uncached one cannot outlive the disposed key.
        key.CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false };
        return new SigningCredentials(key, algorithm);
    }
}
