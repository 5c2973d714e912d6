using Microsoft.AspNetCore.Authorization;

namespace Platform.ServiceDefaults.Auth;

/// <summary>A requirement that can say, in the 403 body, what the token lacked.</summary>
internal interface IExplainedRequirement : IAuthorizationRequirement
{
    string Explain(JwtAuthOptions options);
}

/// <summary>Met when the token granted any one of <see cref="AnyOf"/>. Requirement and handler in one, like the framework's own.</summary>
internal sealed class ScopeRequirement(params string[] anyOf) : AuthorizationHandler<ScopeRequirement>, IExplainedRequirement
{
    public IReadOnlyList<string> AnyOf { get; } = anyOf;

    public string Explain(JwtAuthOptions options) => $"token lacks the {string.Join(" or ", AnyOf)} scope";

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        if (requirement.AnyOf.Any(context.User.HasScope))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

/// <summary>Met when the token named a usable tenant: every read and write is scoped to one.</summary>
internal sealed class TenantRequirement : AuthorizationHandler<TenantRequirement>, IExplainedRequirement
{
    public static readonly TenantRequirement Instance = new();

    public string Explain(JwtAuthOptions options) =>
        $"token has no tenant: claim '{options.TenantClaim}' must be a non-empty string of at most {TokenClaims.MaxTenantLength} characters";

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, TenantRequirement requirement)
    {
        if (context.User.GetTenant() is not null)
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}
