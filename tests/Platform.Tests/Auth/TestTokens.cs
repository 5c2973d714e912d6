using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Platform.Tests.Auth;

/// <summary>Token payloads as plain dictionaries, so each test states exactly the claims it sends.</summary>
internal static class TestTokens
{
    public const string Issuer = "https://issuer.test";
    public const string Audience = "platform";
    public const string Tenant = "acme";

    /// <summary>A payload every test app accepts on both probes; tests change or remove claims from it.</summary>
    public static Dictionary<string, object> ValidPayload()
    {
        var now = DateTimeOffset.UtcNow;
        return new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["iss"] = Issuer,
            ["aud"] = Audience,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.AddMinutes(5).ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["scope"] = "group_api analytics_read",
            ["tenant_id"] = Tenant,
        };
    }

    public static Dictionary<string, object> ValidPayload(Action<Dictionary<string, object>> change)
    {
        var payload = ValidPayload();
        change(payload);
        return payload;
    }

    /// <summary>Signs exactly the given payload (no claims added) with the library's token handler.</summary>
    public static string Sign(Dictionary<string, object> payload, SigningCredentials credentials)
    {
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(JsonSerializer.Serialize(payload), credentials);
    }

    /// <summary>An unsigned token (<c>alg: none</c>), built by hand because the library rightly will not make one.</summary>
    public static string Unsigned(Dictionary<string, object> payload)
    {
        var header = JsonSerializer.Serialize(new Dictionary<string, string> { ["alg"] = "none", ["typ"] = "JWT" });
        return $"{Base64UrlEncoder.Encode(header)}.{Base64UrlEncoder.Encode(JsonSerializer.Serialize(payload))}.";
    }

    /// <summary>The algorithm-confusion attack: HS256 keyed with the bytes of the verifier's RSA public key file.</summary>
    public static string HmacWithPublicKey(Dictionary<string, object> payload, string publicKeyPem, string keyId)
    {
        var key = new SymmetricSecurityKey(Encoding.ASCII.GetBytes(publicKeyPem)) { KeyId = keyId };
        return Sign(payload, new SigningCredentials(key, SecurityAlgorithms.HmacSha256));
    }
}
