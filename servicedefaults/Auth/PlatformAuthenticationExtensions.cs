using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Platform.ServiceDefaults.Auth.WriteKeys;
using Platform.ServiceDefaults.Hosting;

namespace Platform.ServiceDefaults.Auth;

public static class PlatformAuthenticationExtensions
{
    /// <summary>Picks the JWT scheme for a Bearer header and the write-key scheme otherwise (Basic, or a key in the body).</summary>
    internal const string TokenOrWriteKeyScheme = "TokenOrWriteKey";

    /// <summary>
    /// JWT bearer authentication configured from the <c>Auth</c> section (validated at start), the
    /// <see cref="PlatformPolicies"/>, and contract-shaped 401/403 bodies. Both the gateway and
    /// ingest call it: ingest validates tokens again so a request that bypasses the gateway gets nowhere.
    /// </summary>
    public static IHostApplicationBuilder AddPlatformAuthentication(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        builder.AddSectionOptions<JwtAuthOptions, JwtAuthOptionsValidator>(JwtAuthOptions.Section)
            .PostConfigure(static options => options.ApplyDefaults())
            .AddRules<JwtAuthOptions, JwtAuthOptionsRules>();

        services.TryAddSingleton(TimeProvider.System);
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer()
            .AddScheme<AuthenticationSchemeOptions, WriteKeyAuthenticationHandler>(WriteKeyAuthenticationHandler.SchemeName, null)
            .AddPolicyScheme(TokenOrWriteKeyScheme, "Bearer token or write key", static options =>
                options.ForwardDefaultSelector = static context =>
                    context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                        ? JwtBearerDefaults.AuthenticationScheme
                        : WriteKeyAuthenticationHandler.SchemeName);
        builder.AddWriteKeys();
        services.ConfigureOptions<ConfigureJwtBearer>();
        services.AddHostedService<SigningKeyWarmup>();

        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ForbiddenReasonResultHandler>();
        services.AddAuthorizationBuilder()
            .AddPolicy(PlatformPolicies.Ingest, policy => policy
                .AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser()
                .AddRequirements(new ScopeRequirement(PlatformScopes.GroupApi, PlatformScopes.TelemetryApis), TenantRequirement.Instance))
            .AddPolicy(PlatformPolicies.IngestWithWriteKey, policy => policy
                .AddAuthenticationSchemes(TokenOrWriteKeyScheme)
                .RequireAuthenticatedUser()
                .AddRequirements(new ScopeRequirement(PlatformScopes.GroupApi, PlatformScopes.TelemetryApis), TenantRequirement.Instance))
            .AddPolicy(PlatformPolicies.AnalyticsRead, policy => policy
                .AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser()
                .AddRequirements(new ScopeRequirement(PlatformScopes.AnalyticsRead), TenantRequirement.Instance));

        return builder;
    }

    /// <summary>
    /// The write keys of the <c>WriteKeys</c> section and of the key file it may name (a mounted Secret, watched so keys
    /// change without a restart), validated at start.
    /// </summary>
    private static void AddWriteKeys(this IHostApplicationBuilder builder)
    {
        builder.AddSectionOptions<WriteKeyOptions, WriteKeyOptionsValidator>(WriteKeyOptions.Section)
            .AddRules<WriteKeyOptions, WriteKeyOptionsRules>();
        builder.Services.AddSingleton<WriteKeyStore>();
    }
}
