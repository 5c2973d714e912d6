using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.Tokens;
using Platform.ServiceDefaults.Contract;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// Derives the platform claims from a validated token, and answers 401 and 403 in the contract's
/// JSON body instead of JwtBearer's empty responses. Messages name the problem, never the token.
/// </summary>
internal sealed class PlatformJwtBearerEvents(JwtAuthOptions options) : JwtBearerEvents
{
    public override Task TokenValidated(TokenValidatedContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Principal is { } principal)
        {
            TokenClaims.Normalize(principal, options.TenantClaim, options.ScopesGrantedByAudience);
        }

        return Task.CompletedTask;
    }

    public override Task Challenge(JwtBearerChallengeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.HandleResponse();
        var message = DescribeFailure(context.AuthenticateFailure);

        // RFC 6750: a bare challenge when no token came, invalid_token when one was refused.
        context.Response.Headers.WWWAuthenticate = context.AuthenticateFailure is null
            ? "Bearer"
            : $"Bearer error=\"invalid_token\", error_description=\"{message}\"";
        return ContractResponses.WriteErrorAsync(context.HttpContext, StatusCodes.Status401Unauthorized, message);
    }

    public override Task Forbidden(ForbiddenContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var message = ForbiddenReasonResultHandler.GetReason(context.HttpContext)
            ?? "access token does not grant access to this resource";
        return ContractResponses.WriteErrorAsync(context.HttpContext, StatusCodes.Status403Forbidden, message);
    }

    internal static string DescribeFailure(Exception? failure)
    {
        if (failure is AggregateException { InnerExceptions.Count: > 0 } aggregate)
        {
            failure = aggregate.InnerExceptions[0];
        }

        // Subtypes before their base types (the key-not-found exception is a signature exception).
        return failure switch
        {
            null => "access token missing: send it in an Authorization: Bearer header",
            SecurityTokenExpiredException => "access token expired",
            SecurityTokenNotYetValidException => "access token not yet valid",
            SecurityTokenNoExpirationException => "access token has no expiry",
            SecurityTokenInvalidIssuerException => "access token issuer not accepted",
            SecurityTokenInvalidAudienceException => "access token audience not accepted",
            SecurityTokenInvalidAlgorithmException => "access token signing algorithm not accepted",
            SecurityTokenSignatureKeyNotFoundException => "access token signed with an unknown key",
            SecurityTokenInvalidSignatureException => "access token signature invalid",
            SecurityTokenMalformedException => "access token malformed",
            _ => "access token missing or invalid",
        };
    }
}
