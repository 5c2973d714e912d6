using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// The JwtBearer token handler with a <see cref="ValidatedTokenCache"/> in front: a token seen and fully validated
/// recently is not parsed and verified again. Everything else is JwtBearer's own pipeline, run on every request:
/// the handler still returns a fresh identity built from the token's claims, so the TokenValidated event derives
/// scopes and tenant per request, and a refused token is never remembered (it goes through full validation, and
/// its error, every time).
/// </summary>
internal sealed class CachingJsonWebTokenHandler(ValidatedTokenCache cache) : JsonWebTokenHandler
{
    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        if (token is not null && validationParameters is not null && cache.TryGet(token, out var validated))
        {
            return new TokenValidationResult
            {
                IsValid = true,
                SecurityToken = validated,
                ClaimsIdentity = CreateClaimsIdentity(validated, validationParameters),
                Issuer = validated.Issuer,
            };
        }

        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid && result.SecurityToken is JsonWebToken fresh)
        {
            cache.Add(token!, fresh);
        }

        return result;
    }
}
