using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Auth;

/// <summary>
/// Remembers which requirements failed so the 403 body, written by the JwtBearer Forbidden event
/// (which is not told why), can say what the token lacked. Everything else is the framework's default.
/// </summary>
internal sealed class ForbiddenReasonResultHandler(IOptions<JwtAuthOptions> options) : IAuthorizationMiddlewareResultHandler
{
    private static readonly object ReasonKey = new();
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(authorizeResult);
        if (authorizeResult.Forbidden && authorizeResult.AuthorizationFailure is { } failure)
        {
            var reasons = failure.FailedRequirements
                .OfType<IExplainedRequirement>()
                .Select(requirement => requirement.Explain(options.Value))
                .ToList();
            if (reasons.Count > 0)
            {
                context.Items[ReasonKey] = string.Join("; ", reasons);
            }
        }

        return _default.HandleAsync(next, context, policy, authorizeResult);
    }

    public static string? GetReason(HttpContext context) => context.Items.TryGetValue(ReasonKey, out var reason) ? reason as string : null;
}
