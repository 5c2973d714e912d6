using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Platform.ServiceDefaults.Contract;

namespace Platform.ServiceDefaults.Auth.WriteKeys;

/// <summary>
/// Authenticates a write key as Segment-spec SDKs send it: HTTP Basic with the key as user name (the password is
/// ignored; SDKs send it empty), or, without an Authorization header, the body's top-level <c>writeKey</c>. The
/// principal carries the same platform claims a token does (tenant, scopes), so authorization, rate limits and the
/// endpoints treat both credentials alike. Unknown and revoked keys fail; 401 and 403 come in the contract's body.
/// </summary>
internal sealed class WriteKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory logger,
    UrlEncoder encoder,
    WriteKeyStore keys,
    IOptionsMonitor<WriteKeyOptions> writeKeyOptions)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, logger, encoder)
{
    public const string SchemeName = "WriteKey";

    /// <summary>The claim naming the key's configured name (never the key).</summary>
    public const string KeyNameClaim = "platform_write_key";

    private const string BasicPrefix = "Basic ";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? key;
        var header = Request.Headers.Authorization.ToString();
        if (header.StartsWith(BasicPrefix, StringComparison.OrdinalIgnoreCase))
        {
            key = DecodeBasicUser(header.AsSpan(BasicPrefix.Length).Trim());
            if (key is null)
            {
                return AuthenticateResult.Fail("write key malformed: send it as the HTTP Basic user name, base64(key + ':')");
            }
        }
        else if (header.Length > 0)
        {
            return AuthenticateResult.NoResult();
        }
        else
        {
            key = await BodyWriteKey.ReadAsync(Context, writeKeyOptions.CurrentValue.MaxBodyScanBytes);
            if (key is null)
            {
                return AuthenticateResult.NoResult();
            }
        }

        switch (keys.Find(key, out var grant))
        {
            case WriteKeyStatus.Unknown:
                return AuthenticateResult.Fail("write key unknown");
            case WriteKeyStatus.Revoked:
                return AuthenticateResult.Fail("write key revoked");
        }

        var identity = new ClaimsIdentity(SchemeName);
        identity.AddClaim(new Claim(PlatformClaims.Tenant, grant!.Tenant));
        foreach (var scope in grant.Scopes)
        {
            identity.AddClaim(new Claim(PlatformClaims.Scope, scope));
        }

        identity.AddClaim(new Claim(KeyNameClaim, grant.Name));
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var message = result.Failure?.Message
            ?? "credentials missing: send the write key as the HTTP Basic user name (or an Authorization: Bearer token)";
        Response.Headers[HeaderNames.WWWAuthenticate] = "Basic realm=\"platform\", charset=\"UTF-8\"";
        await ContractResponses.WriteErrorAsync(Context, StatusCodes.Status401Unauthorized, message);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var reason = ForbiddenReasonResultHandler.GetReason(Context);
        var message = reason is null
            ? "write key does not grant access to this resource"
            : reason.StartsWith("token ", StringComparison.Ordinal) ? "write key " + reason["token ".Length..] : reason;
        return ContractResponses.WriteErrorAsync(Context, StatusCodes.Status403Forbidden, message);
    }

    /// <summary>The user name of a Basic credential, or null when it is not base64 of UTF-8 text with a non-empty user.</summary>
    internal static string? DecodeBasicUser(ReadOnlySpan<char> encoded)
    {
        if (encoded.IsEmpty || encoded.Length > 4096)
        {
            return null;
        }

        Span<byte> bytes = stackalloc byte[encoded.Length];
        if (!Convert.TryFromBase64Chars(encoded, bytes, out var written))
        {
            return null;
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes[..written]);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var user = colon < 0 ? text : text[..colon];
        return user.Length == 0 ? null : user;
    }
}
