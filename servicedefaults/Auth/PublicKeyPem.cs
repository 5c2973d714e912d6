using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.Tokens;

namespace Platform.ServiceDefaults.Auth;

/// <summary>Reads one verification key from a PEM file; its key id is the file name without extension.</summary>
internal static class PublicKeyPem
{
    private const string RsaOid = "1.2.840.113549.1.1.1";
    private const string EcOid = "1.2.840.10045.2.1";
    private const int MinRsaKeySize = 2048;

    // NIST P-256, P-384, P-521: the curves of ES256, ES384, ES512.
    private static readonly string[] SupportedCurveOids = ["1.2.840.10045.3.1.7", "1.3.132.0.34", "1.3.132.0.35"];

    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="InvalidDataException">The file holds no usable public key; the message says why.</exception>
    public static SecurityKey Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            throw new FileNotFoundException($"file not found: {path}", path);
        }
        catch (DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"file not found: {path}", path);
        }

        var keyId = Path.GetFileNameWithoutExtension(path);
        if (!PemEncoding.TryFind(text, out var fields))
        {
            throw new InvalidDataException("no PEM block found; expected '-----BEGIN PUBLIC KEY-----'.");
        }

        var label = text[fields.Label];
        if (label.Contains("PRIVATE KEY", StringComparison.Ordinal))
        {
            // A verifier never needs the private key; refusing it keeps private keys out of service configuration.
            throw new InvalidDataException("holds a private key; configure the public key instead (openssl pkey -pubout).");
        }

        var der = Convert.FromBase64String(text[fields.Base64Data]);
        return label switch
        {
            "PUBLIC KEY" => FromSubjectPublicKeyInfo(der, keyId),
            "RSA PUBLIC KEY" => FromRsaPublicKey(der, keyId),
            _ => throw new InvalidDataException($"PEM block '{label}' is not supported; expected 'PUBLIC KEY' or 'RSA PUBLIC KEY'."),
        };
    }

    private static SecurityKey FromSubjectPublicKeyInfo(byte[] der, string keyId)
    {
        PublicKey publicKey;
        try
        {
            publicKey = PublicKey.CreateFromSubjectPublicKeyInfo(der, out _);
        }
        catch (CryptographicException ex)
        {
            throw new InvalidDataException($"the public key cannot be decoded ({ex.Message}).", ex);
        }

        switch (publicKey.Oid.Value)
        {
            case RsaOid:
                return RsaKey(publicKey.GetRSAPublicKey()!, keyId);
            case EcOid:
                var ecdsa = publicKey.GetECDsaPublicKey()!;
                var curve = ecdsa.ExportParameters(includePrivateParameters: false).Curve.Oid.Value;
                if (curve is null || !SupportedCurveOids.Contains(curve, StringComparer.Ordinal))
                {
                    ecdsa.Dispose();
                    throw new InvalidDataException("EC key is not on P-256, P-384 or P-521.");
                }

                return new ECDsaSecurityKey(ecdsa) { KeyId = keyId };
            default:
                throw new InvalidDataException($"key algorithm {publicKey.Oid.Value} is not supported; use RSA or EC.");
        }
    }

    private static RsaSecurityKey FromRsaPublicKey(byte[] der, string keyId)
    {
        var rsa = RSA.Create();
        try
        {
            rsa.ImportRSAPublicKey(der, out _);
        }
        catch (CryptographicException ex)
        {
            rsa.Dispose();
            throw new InvalidDataException($"the RSA public key cannot be decoded ({ex.Message}).", ex);
        }

        return RsaKey(rsa, keyId);
    }

    private static RsaSecurityKey RsaKey(RSA rsa, string keyId)
    {
        if (rsa.KeySize < MinRsaKeySize)
        {
            var size = rsa.KeySize;
            rsa.Dispose();
            throw new InvalidDataException($"RSA key has {size} bits; at least {MinRsaKeySize} are required.");
        }

        return new RsaSecurityKey(rsa) { KeyId = keyId };
    }
}
