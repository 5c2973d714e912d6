using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Platform.ServiceDefaults.Auth;

public static class PlatformAuthenticationExtensions
{
    /// <summary>
    /// JWT bearer authentication configured from the <c>Auth</c> section (validated at start), the
    /// <see cref="PlatformPolicies"/>, and contract-shaped 401/403 bodies. Both the gateway and
    /// ingest call it: ingest validates tokens again so a request that bypasses the gateway gets nowhere.
    /// </summary>
    public static IHostApplicationBuilder AddPlatformAuthentication(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        services.AddOptions<JwtAuthOptions>()
            .Bind(builder.Configuration.GetSection(JwtAuthOptions.SectionName))
            .PostConfigure(static options => options.ApplyDefaults())
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<JwtAuthOptions>, JwtAuthOptionsValidator>();

        services.TryAddSingleton(TimeProvider.System);
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.ConfigureOptions<ConfigureJwtBearer>();
        services.AddHostedService<SigningKeyWarmup>();

        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ForbiddenReasonResultHandler>();
        services.AddAuthorizationBuilder()
            .AddPolicy(PlatformPolicies.Ingest, policy => policy
                .AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser()
                .AddRequirements(new ScopeRequirement(PlatformScopes.GroupApi, PlatformScopes.TelemetryApis), TenantRequirement.Instance))
            .AddPolicy(PlatformPolicies.AnalyticsRead, policy => policy
                .AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser()
                .AddRequirements(new ScopeRequirement(PlatformScopes.AnalyticsRead), TenantRequirement.Instance));

        return builder;
    }
}
