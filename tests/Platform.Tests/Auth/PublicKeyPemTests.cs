using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;
using Platform.ServiceDefaults.Auth;

namespace Platform.Tests.Auth;

public sealed class PublicKeyPemTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("platform-pem-").FullName;

    [Fact]
    public void Key_id_is_the_file_name_without_extension()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var path = Write("issuer-2025.pem", ec.ExportSubjectPublicKeyInfoPem());

        var key = PublicKeyPem.Load(path);

        Assert.IsType<ECDsaSecurityKey>(key);
        Assert.Equal("issuer-2025", key.KeyId);
    }

    [Fact]
    public void Pkcs1_rsa_public_key_is_read()
    {
        using var rsa = RSA.Create(2048);
        var path = Write("pkcs1.pem", rsa.ExportRSAPublicKeyPem());

        Assert.IsType<RsaSecurityKey>(PublicKeyPem.Load(path));
    }

    [Fact]
    public void Rsa_key_shorter_than_2048_bits_is_refused()
    {
        using var rsa = RSA.Create(1024);
        var path = Write("weak.pem", rsa.ExportSubjectPublicKeyInfoPem());

        var failure = Assert.Throws<InvalidDataException>(() => PublicKeyPem.Load(path));

        Assert.Contains("2048", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void File_without_a_pem_block_is_refused()
    {
        var path = Write("garbage.pem", "not a key");

        Assert.Throws<InvalidDataException>(() => PublicKeyPem.Load(path));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string name, string content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, content);
        return path;
    }
}
